using System.Security.Cryptography;
using System.Text.Json;
using Anemos.Tests.Infrastructure;
using Anemos.Tests.Ssh;

namespace Anemos.Tests.Deploy;

/// <summary>
/// samples/dns's GitHub Actions workflow, run here the way a runner would: the build job's own
/// commands in a fresh clone, its upload as a folder, then the deploy job's commands in another
/// fresh clone holding only the downloaded artifacts, against a real sshd on 127.0.0.1. The
/// GitHub-only steps (checkout, setup-dotnet, upload/download) are played by the test; the
/// runner-setup steps ("Tools the …", apt-get in a bare container) are what test.sh installs.
/// </summary>
[EndToEnd(Needs.Sshd)]
public sealed class CiWorkflowTests(LoopbackSshServer server) : IClassFixture<LoopbackSshServer>
{
    static readonly string Workflow = Repository.PathOf("samples", "dns", ".github", "workflows", "anemos.yml");

    [Fact]
    public void TheWorkflowParsesIntoTheStepsItDocuments()
    {
        var steps = WorkflowFile.Steps(Workflow);
        Assert.Equal(["build", "deploy"], steps.Select(s => s.Job).Distinct());
        Assert.Contains(steps, s => s.Job == "build" && s.Run == "dotnet build -nologo -getItem:AnemosArtifact > anemos-artifacts.json");
        Assert.Equal("bin/anemos/\nanemos-artifacts.json\n", steps.Single(s => s.Uses == "actions/upload-artifact@v4").With["path"]);
        Assert.Contains("--no-build", steps.Last().Run);
    }

    [Fact]
    public void TheBuildJobsArtifactsDeployWithoutRebuildingAndATamperedOneIsRefused()
    {
        string root = TestProject.NewDirectory() + "-ci";
        string home = Path.Combine(root, "home"), store = Path.Combine(root, "artifact-store"), state = Path.Combine(root, "host-state");
        Directory.CreateDirectory(home);
        using var project = RepositoryWithTheWorkflow(state, Path.Combine(root, "locks"));
        try
        {
            var steps = WorkflowFile.Steps(Workflow);
            var environment = new Dictionary<string, string?>(project.Environment) { ["HOME"] = home, ["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1" };
            var expressions = new Dictionary<string, string>
            {
                ["inputs.host"] = "x",
                ["secrets.ANEMOS_DEPLOY_KEY"] = File.ReadAllText(server.ClientKey).TrimEnd(),
                ["secrets.ANEMOS_SSH_HOST_KEY"] = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a real key\n-----END OPENSSH PRIVATE KEY-----",
            };

            // build: a fresh clone, the job's commands in order, then what upload-artifact keeps.
            string buildClone = Clone(project, Path.Combine(root, "build"));
            RunJob(steps.Where(s => s.Job == "build"), buildClone, environment, expressions, store);
            Assert.True(File.Exists(Path.Combine(store, "bin/anemos/hosts/x/manifest.json")), "the build job kept no manifest");
            Assert.Contains("manifest.json", File.ReadAllText(Path.Combine(store, "anemos-artifacts.json")));

            // deploy: another fresh clone with nothing but the downloaded artifacts.
            string deployClone = Clone(project, Path.Combine(root, "deploy"));
            var deploy = RunJob(steps.Where(s => s.Job == "deploy"), deployClone, environment, expressions, store);
            Assert.Contains("deploy x: artifacts proven against manifest.json (kernel, base, overlay); nothing was rebuilt", deploy.Output);
            Assert.DoesNotContain("AnemosPackPayload:", deploy.Output);
            // The host's helper proved the downloaded initramfs (the dry run then deleted what it staged, since it carried a secret).
            string initramfs = Path.Combine(deployClone, "bin/anemos/hosts/x/initramfs.img");
            Assert.Contains($"initramfs {Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(initramfs)))[..12]} proven", deploy.Output);

            // The same deploy step over a tampered download stops before ssh starts.
            string overlay = Path.Combine(deployClone, "bin/anemos/hosts/x/overlay.cpio");
            var bytes = File.ReadAllBytes(overlay);
            bytes[100] ^= 0x20;
            File.WriteAllBytes(overlay, bytes);
            var refused = RunStep(steps.Last(), deployClone, environment, expressions);
            Assert.NotEqual(0, refused.ExitCode);
            Assert.Contains("error ANEMOS4023: Host 'x': the overlay", refused.Output);
            Assert.DoesNotContain("deploy x: connect", refused.Output);
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
            try { Directory.Delete(SecretsFolderFor(state), recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>The helper's secrets folder for a test host: in RAM (/dev/shm), since this machine's /run may be on its disk.</summary>
    static string SecretsFolderFor(string state) => Path.Combine("/dev/shm/anemos-tests", "ci-" + Path.GetFileName(Path.GetDirectoryName(state)!));

    /// <summary>A deploy project shaped like samples/dns (its secret path included), committed to git with the sample's workflow.</summary>
    TestProject RepositoryWithTheWorkflow(string state, string locks)
    {
        var project = TestProject.CreateDeployProject(
            $"""<AnemosHost Include="x" Address="127.0.0.1" Port="{server.Port}" HostKey="{server.HostKeyFingerprint}" />""",
            $"""
            <AnemosSshConfigFile>{server.ClientConfig}</AnemosSshConfigFile>
            <AnemosHelperStateDirectory>{state}</AnemosHelperStateDirectory>
            <AnemosHelperSecretsDirectory>{SecretsFolderFor(state)}</AnemosHelperSecretsDirectory>
            <AnemosDeployLockDirectory>{locks}</AnemosDeployLockDirectory>
            <AnemosDryRun>true</AnemosDryRun>
            """,
            """<ItemGroup><AnemosSecret Include="ssh-host-key" File="$(HOME)/.secrets/dns/$(Host)/ssh_host_ed25519_key" TargetPath="ssh/ssh_host_ed25519_key" /></ItemGroup>""");
        project.Write(".github/workflows/anemos.yml", File.ReadAllText(Workflow));
        project.Write(".gitignore", "bin/\nobj/\n");
        Git(project.Directory, "init", "-q");
        Git(project.Directory, "add", "-A");
        Git(project.Directory, "-c", "user.name=ci", "-c", "user.email=ci@example.org", "commit", "-q", "-m", "hosts");
        return project;
    }

    static string Clone(TestProject project, string destination)
    {
        Git(Path.GetDirectoryName(destination)!, "clone", "-q", project.Directory, destination);
        return destination;
    }

    static void Git(string directory, params string[] arguments)
    {
        Directory.CreateDirectory(directory);
        var git = ProcessRunner.Run("git", arguments, directory);
        Assert.True(git.ExitCode == 0, git.ToString());
    }

    /// <summary>Runs a job's steps in order; GitHub's own actions are played here. Returns the last step's result.</summary>
    static ProcessResult RunJob(IEnumerable<WorkflowFile.Step> steps, string clone, Dictionary<string, string?> environment,
        Dictionary<string, string> expressions, string store)
    {
        ProcessResult last = new(0, "");
        foreach (var step in steps)
        {
            switch (step.Uses?.Split('@')[0])
            {
                case "actions/checkout" or "actions/setup-dotnet":
                    continue; // the fresh clone; the .NET SDK of this machine
                case "actions/upload-artifact":
                    foreach (string path in step.With["path"].Split('\n', StringSplitOptions.RemoveEmptyEntries))
                        Assert.Equal(0, ProcessRunner.Shell($"mkdir -p '{store}' && cp -a --parents '{path.TrimEnd('/')}' '{store}/'", clone).ExitCode);
                    continue;
                case "actions/download-artifact":
                    Assert.Equal(0, ProcessRunner.Shell($"cp -a '{store}/.' '{clone}/'").ExitCode);
                    continue;
                case null when step.Name?.StartsWith("Tools the", StringComparison.Ordinal) == true:
                    continue; // a bare container's apt-get; test.sh installs these here
                case null:
                    last = RunStep(step, clone, environment, expressions);
                    Assert.True(last.ExitCode == 0, $"step '{step.Name ?? step.Run}' failed:\n{last}");
                    continue;
                default:
                    throw new InvalidOperationException($"the test does not know how to play {step.Uses}");
            }
        }
        return last;
    }

    static ProcessResult RunStep(WorkflowFile.Step step, string clone, Dictionary<string, string?> environment, Dictionary<string, string> expressions)
    {
        var stepEnvironment = new Dictionary<string, string?>(environment);
        foreach (var (name, value) in step.Env) stepEnvironment[name] = WorkflowFile.Expand(value, expressions);
        // GitHub runs a step's script with bash -e.
        return ProcessRunner.Run("bash", ["-e", "-c", WorkflowFile.Expand(step.Run!, expressions)], clone, stepEnvironment, TimeSpan.FromMinutes(10));
    }
}
