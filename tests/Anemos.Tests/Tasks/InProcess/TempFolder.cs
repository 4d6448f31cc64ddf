namespace Anemos.Tests.Tasks.InProcess;

/// <summary>A folder of files for one in-process task test, removed afterwards.</summary>
public sealed class TempFolder : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("anemos-task-").FullName;

    public string Write(string relative, string content, bool executable = false)
    {
        string file = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, content);
        File.SetUnixFileMode(file, executable ? (UnixFileMode)0x1ED : (UnixFileMode)0x1A4);
        return file;
    }

    public Microsoft.Build.Framework.ITaskItem[] Items(params string[] relative) =>
        relative.Select(r => (Microsoft.Build.Framework.ITaskItem)new Microsoft.Build.Utilities.TaskItem(System.IO.Path.Combine(Path, r))).ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
