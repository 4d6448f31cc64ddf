using Xunit;
using Xunit.Abstractions;

[assembly: TestCollectionOrderer("Anemos.Tests.Infrastructure.LongestFirst", "Anemos.Tests")]

namespace Anemos.Tests.Infrastructure;

/// <summary>
/// A test class that runs for many minutes (whole installs under QEMU's emulation), with about how
/// many on an idle 2-core machine: such classes start first.
/// </summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class LongRunningAttribute(int minutes) : Attribute
{
    public int Minutes { get; } = minutes;
}

/// <summary>
/// Starts the longest test classes first. xunit runs one class per core at a time, in this order:
/// a 20-minute class that happened to start last would run alone at the end while the other core
/// idles, so the suite takes about the least time when the longest start first.
/// </summary>
public sealed class LongestFirst : ITestCollectionOrderer
{
    public IEnumerable<ITestCollection> OrderTestCollections(IEnumerable<ITestCollection> testCollections) =>
        testCollections.OrderByDescending(Minutes).ThenBy(c => c.DisplayName, StringComparer.Ordinal);

    // A class's own collection is named after it: "Test collection for NAMESPACE.CLASS".
    static int Minutes(ITestCollection collection)
    {
        string name = collection.DisplayName.Replace("Test collection for ", "", StringComparison.Ordinal);
        var type = typeof(LongestFirst).Assembly.GetType(name);
        return type?.GetCustomAttributes(typeof(LongRunningAttribute), false).OfType<LongRunningAttribute>().FirstOrDefault()?.Minutes ?? 0;
    }
}
