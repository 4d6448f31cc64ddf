using Xunit.Abstractions;
using Xunit.Sdk;

namespace Anemos.Tests.Infrastructure;

/// <summary>What puts a test in the end-to-end tier: one thing it needs beyond this process and the machine's ordinary tools.</summary>
public enum Needs
{
    /// <summary>The SDK packed from the working tree (`dotnet build` of a test project, the packaged helper).</summary>
    PackedSdk,
    /// <summary>An sshd on 127.0.0.1.</summary>
    Sshd,
    /// <summary>A virtual machine.</summary>
    Qemu,
    /// <summary>A distribution bootstrapped from a local mirror or repository.</summary>
    Bootstrap,
    /// <summary>A Debian package installed and removed again.</summary>
    AptInstall,
}

/// <summary>
/// Puts a test class or method in the end-to-end tier (traits `Tier=EndToEnd` and `Needs=WHAT`).
/// Everything else is the fast tier, `--filter 'Tier!=EndToEnd'`: a test is fast unless it says
/// what makes it slow. The infrastructure that starts such a thing refuses to in the fast tier
/// (<see cref="Tier.RequireEndToEnd"/>), so a missing mark fails at once rather than slowing it.
/// </summary>
[TraitDiscoverer("Anemos.Tests.Infrastructure.EndToEndDiscoverer", "Anemos.Tests")]
[AttributeUsage(AttributeTargets.Class | AttributeTargets.Method)]
public sealed class EndToEndAttribute(Needs needs) : Attribute, ITraitAttribute
{
    public Needs Needs { get; } = needs;
}

public sealed class EndToEndDiscoverer : ITraitDiscoverer
{
    public IEnumerable<KeyValuePair<string, string>> GetTraits(IAttributeInfo traitAttribute)
    {
        yield return new(Tier.Trait, Tier.EndToEnd);
        yield return new("Needs", traitAttribute.GetConstructorArguments().Single()!.ToString()!);
    }
}
