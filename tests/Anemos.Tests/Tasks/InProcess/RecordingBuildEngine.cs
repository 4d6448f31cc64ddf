using System.Collections;
using Microsoft.Build.Framework;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>
/// The fast tier: a task from Anemos.Tasks runs in this process, its diagnostics recorded here,
/// in milliseconds instead of a packed SDK and a `dotnet build`. The end-to-end tests still run
/// every task through the real MSBuild.
/// </summary>
public sealed class RecordingBuildEngine : IBuildEngine
{
    public List<BuildErrorEventArgs> Errors { get; } = [];
    public List<BuildWarningEventArgs> Warnings { get; } = [];
    public List<BuildMessageEventArgs> Messages { get; } = [];

    public bool ContinueOnError => false;
    public int LineNumberOfTaskNode => 0;
    public int ColumnNumberOfTaskNode => 0;
    public string ProjectFileOfTaskNode => "test.proj";

    public void LogErrorEvent(BuildErrorEventArgs e) => Errors.Add(e);
    public void LogWarningEvent(BuildWarningEventArgs e) => Warnings.Add(e);
    public void LogMessageEvent(BuildMessageEventArgs e) => Messages.Add(e);
    public void LogCustomEvent(CustomBuildEventArgs e) { }

    public bool BuildProjectFile(string projectFileName, string[] targetNames, IDictionary globalProperties, IDictionary targetOutputs) =>
        throw new NotSupportedException("in-process task tests build no projects");

    /// <summary>Runs the task; returns what Execute returned. A crash would be ANEMOS0001, which no test expects.</summary>
    public static (bool Success, RecordingBuildEngine Engine) Run(Microsoft.Build.Utilities.Task task)
    {
        var engine = new RecordingBuildEngine();
        task.BuildEngine = engine;
        bool success = task.Execute();
        Assert.DoesNotContain(engine.Errors, e => e.Code == "ANEMOS0001");
        return (success, engine);
    }
}
