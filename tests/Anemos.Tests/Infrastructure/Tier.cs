namespace Anemos.Tests.Infrastructure;

/// <summary>
/// The two test tiers. test.sh runs the fast one first with ANEMOS_TEST_TIER=fast in the
/// environment: the SDK pack, sshd, QEMU and the bootstrap mirrors call <see cref="RequireEndToEnd"/>
/// before they start, so a test that needs them but lacks <see cref="EndToEndAttribute"/> fails there.
/// </summary>
public static class Tier
{
    public const string Trait = "Tier";
    public const string EndToEnd = "EndToEnd";

    public static void RequireEndToEnd(Needs needs)
    {
        if (Environment.GetEnvironmentVariable("ANEMOS_TEST_TIER") == "fast")
            throw new InvalidOperationException($"this test needs {needs} but runs in the fast tier: mark its class or method [EndToEnd(Needs.{needs})]");
    }
}
