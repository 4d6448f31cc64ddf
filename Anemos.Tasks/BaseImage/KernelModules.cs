namespace Anemos.Tasks;

/// <summary>
/// Resolves kernel module names to the files to ship and a load order, from a kernel's
/// modules.dep (the file depmod writes: "path: dependency-path …"). Names compare with '-'
/// and '_' as equals, as modprobe does. Modules built into the kernel (modules.builtin) need
/// no file and are skipped.
/// </summary>
public sealed class KernelModules
{
    readonly Dictionary<string, (string Path, string[] Dependencies)> _byName = new(StringComparer.Ordinal);
    readonly HashSet<string> _builtin = new(StringComparer.Ordinal);

    public KernelModules(string modulesDirectory)
    {
        foreach (string line in File.ReadLines(Path.Combine(modulesDirectory, "modules.dep")))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string path = line[..colon].Trim();
            string[] dependencies = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            _byName[NameOf(path)] = (path, dependencies);
        }
        string builtin = Path.Combine(modulesDirectory, "modules.builtin");
        if (File.Exists(builtin))
            foreach (string line in File.ReadLines(builtin))
                if (line.Trim().Length > 0) _builtin.Add(NameOf(line.Trim()));
    }

    public static string NameOf(string path)
    {
        string name = Path.GetFileName(path);
        foreach (string suffix in new[] { ".xz", ".zst", ".gz" })
            if (name.EndsWith(suffix, StringComparison.Ordinal)) name = name[..^suffix.Length];
        if (name.EndsWith(".ko", StringComparison.Ordinal)) name = name[..^3];
        return name.Replace('-', '_');
    }

    public bool IsBuiltin(string name) => _builtin.Contains(NameOf(name));

    public bool Contains(string name) => _byName.ContainsKey(NameOf(name));

    /// <summary>Relative paths of the requested modules and everything they need, dependencies first.</summary>
    public IReadOnlyList<string> LoadOrder(IEnumerable<string> names)
    {
        var order = new List<string>();
        var done = new HashSet<string>(StringComparer.Ordinal);
        var visiting = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
            Visit(NameOf(name), order, done, visiting);
        return order;
    }

    void Visit(string name, List<string> order, HashSet<string> done, HashSet<string> visiting)
    {
        if (done.Contains(name) || !_byName.TryGetValue(name, out var module)) return;
        if (!visiting.Add(name)) throw new AnemosException(Diagnostics.ModuleCycle, name);
        foreach (string dependency in module.Dependencies)
            Visit(NameOf(dependency), order, done, visiting);
        visiting.Remove(name);
        done.Add(name);
        order.Add(module.Path);
    }
}
