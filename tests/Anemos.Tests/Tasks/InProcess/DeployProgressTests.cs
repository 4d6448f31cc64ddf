using Anemos.Tasks.Deploy;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Anemos.Tests.Tasks.InProcess;

/// <summary>The phase lines a deploy prints (docs/logging.md): duration, bytes and their rate, detail.</summary>
public sealed class DeployProgressTests
{
    sealed class Probe : Microsoft.Build.Utilities.Task
    {
        public override bool Execute() => true;
    }

    static (DeployProgress Progress, RecordingBuildEngine Engine) Create()
    {
        var engine = new RecordingBuildEngine();
        var task = new Probe { BuildEngine = engine };
        return (new DeployProgress(task.Log, "x"), engine);
    }

    [Fact]
    public void APhaseThatSentBytesSaysHowManyAndAtWhatRate()
    {
        var (progress, engine) = Create();
        using (var phase = progress.Begin("upload"))
        {
            phase.BytesSent = 3 * 1024 * 1024;
            // A lower bound on the phase's time, so its rate is measurable; no window is raced.
            Thread.Sleep(200);
            phase.Complete("2 file(s) proven by sha256 on the host");
        }

        var line = Assert.Single(engine.Messages, m => m.Importance == MessageImportance.High).Message!;
        Assert.Matches(@"^  deploy x: upload \d+\.\d s, 3\.0 MiB sent at [0-9.]+ (KiB|MiB)/s: 2 file\(s\) proven by sha256 on the host$", line);
        Assert.Equal(3 * 1024 * 1024, progress.BytesSent);
    }

    [Fact]
    public void APhaseThatSentNothingOrFailedSaysSo()
    {
        var (progress, engine) = Create();
        using (progress.Begin("facts")) { }

        var line = Assert.Single(engine.Messages, m => m.Importance == MessageImportance.High).Message!;
        Assert.Matches(@"^  deploy x: facts FAILED \d+\.\d s$", line);
        Assert.False(Assert.Single(progress.Phases).Succeeded);
    }
}
