using NuGet.Versioning;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// Which host helper versions this SDK works with. By default: the version it carries, or any
/// later patch or minor release of the same major (a helper only adds commands and fields within
/// a major); AnemosHelperVersionRange overrides it in NuGet's range syntax.
/// </summary>
public sealed class HelperCompatibility
{
    public VersionRange Range { get; }

    HelperCompatibility(VersionRange range) => Range = range;

    public static HelperCompatibility Create(string carriedVersion, string? range)
    {
        if (!string.IsNullOrWhiteSpace(range))
        {
            if (!VersionRange.TryParse(range.Trim(), out var parsed))
                throw new AnemosException(Diagnostics.DeploySettingInvalid, "AnemosHelperVersionRange", range, "a NuGet version range such as [0.1.0, 1.0.0)");
            return new HelperCompatibility(parsed);
        }
        var carried = NuGetVersion.Parse(carriedVersion);
        return new HelperCompatibility(new VersionRange(carried, includeMinVersion: true, new NuGetVersion(carried.Major + 1, 0, 0), includeMaxVersion: false));
    }

    public bool Accepts(string? helperVersion) =>
        helperVersion is not null && NuGetVersion.TryParse(helperVersion, out var version) && Range.Satisfies(version);
}
