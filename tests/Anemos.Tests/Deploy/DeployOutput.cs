using System.Text.RegularExpressions;

namespace Anemos.Tests.Deploy;

/// <summary>What a deploy prints: one line per finished phase, "deploy HOST: PHASE[ FAILED] 1.2 s…".</summary>
public static partial class DeployOutput
{
    [GeneratedRegex(@"deploy (\S+): (connect|facts|plan|upload|secrets|stage|boot|wait|verify)( FAILED)? \d+\.\d s")]
    public static partial Regex PhaseLine();
}
