using Anemos.Tasks;
using Anemos.Tasks.Ssh;

namespace Anemos.Tests.Tasks;

/// <summary>What ANEMOS4004 says when a send ends early: who ended it, after how many bytes, and what the next deploy does.</summary>
public sealed class UploadInterruptedTests
{
    [Fact]
    public void ACutConnectionWithNoMessageSaysWhereItEndedAndThatTheNextDeployResumes()
    {
        string message = Diagnostics.UploadFailed.Format(["/b/base.img", "root@h", ResumableUpload.Interrupted(255, "", 1_234_567, 41_943_040)]);

        Assert.Equal("Uploading /b/base.img to root@h failed: the connection ended after 1234567 of 41943040 bytes. "
            + "Deploy again: the next deploy resumes from the prefix the host proves intact (sha256).", message);
        Assert.DoesNotContain("(no message)", message);
    }

    [Fact]
    public void AFailingRemoteCatIsNamedWithItsExitCodeAndLastErrorLine()
    {
        string reason = ResumableUpload.Interrupted(1, "cat: write error\ncat: write error: No space left on device.\n", 4096, 8192);

        Assert.Equal("the host's cat exited with 1 after 4096 of 8192 bytes (cat: write error: No space left on device)", reason);
    }

    [Fact]
    public void WhatSshSaidAboutTheCutIsKept()
    {
        Assert.Equal("the connection ended after 0 of 10 bytes (client_loop: send disconnect: Broken pipe)",
            ResumableUpload.Interrupted(255, "client_loop: send disconnect: Broken pipe\r\n", 0, 10));
    }
}
