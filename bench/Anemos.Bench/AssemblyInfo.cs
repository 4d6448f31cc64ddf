// The benchmarks run on Linux, where the product runs.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
