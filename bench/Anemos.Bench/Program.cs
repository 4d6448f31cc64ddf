using System.Formats.Tar;
using Anemos.Core.Initramfs;
using Anemos.Tasks;

// bench/run.sh drives these; each prints nothing on success (assemble: its own milliseconds), so timings measure the work alone.
switch (args.FirstOrDefault())
{
    case "assemble" when args.Length == 4:
        // What AssembleAnemosInitramfs does: the base's digest and kept sha256 state from its
        // sidecars (computed by the first run, as the first host of a build does), then the assembly.
        // It prints the milliseconds of that work alone, as a build's every host after the first
        // pays it: the task runs inside the build's process, so neither this harness's start nor
        // the JIT of the assembly's code (once per build: the first assembly, untimed here) is part.
        long Assemble()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var baseState = MidstateSidecar.Read(args[1], DigestSidecar.Read(args[1]));
            InitramfsLayout.AssembleFile(args[1], baseState, [args[2]], args[3]);
            return (long)clock.Elapsed.TotalMilliseconds;
        }
        Assemble();
        Console.WriteLine(Assemble());
        return 0;

    case "base-state" when args.Length == 2:
        // The one-time cost per base: its sha256 state after the whole blocks, in managed code.
        Anemos.Core.Hashing.Sha256Midstate.OfFile(args[1]);
        return 0;

    case "pack" when args.Length == 3:
        PayloadArchive.Write(Entries(Path.GetFullPath(args[1])), args[2], DateTimeOffset.UnixEpoch);
        return 0;

    case "manifest" when args.Length == 5:
        // manifest KERNEL BASE OVERLAY OUT: what the build writes, for the helper's stage.
        var initramfs = Path.GetTempFileName();
        var digest = InitramfsLayout.AssembleFile(args[2], [args[3]], initramfs);
        File.Delete(initramfs);
        var manifest = new Anemos.Core.Manifest.AnemosManifest
        {
            Host = "bench",
            SdkVersion = "bench",
            Kernel = Anemos.Core.Manifest.ManifestArtifact.From(Anemos.Core.Hashing.FileDigest.OfFile(args[1])),
            Base = Anemos.Core.Manifest.ManifestArtifact.From(Anemos.Core.Hashing.FileDigest.OfFile(args[2])),
            Payload = Anemos.Core.Manifest.ManifestArtifact.From(Anemos.Core.Hashing.FileDigest.OfBytes([])),
            Overlay = Anemos.Core.Manifest.ManifestArtifact.From(Anemos.Core.Hashing.FileDigest.OfFile(args[3])),
            Initramfs = Anemos.Core.Manifest.ManifestArtifact.From(digest),
        };
        File.WriteAllText(args[4], manifest.ToJson());
        return 0;

    case "stock-image" when args.Length == 6:
        // stock-image OUT BASE HELPER HOST_KEY AUTHORIZED_KEY: the end-to-end test's stock host initramfs.
        Anemos.Tests.Vm.StockHostImage.Write(args[1], args[2], args[3], args[4], args[5]);
        return 0;

    case "packed-helper" when args.Length == 3:
        // packed-helper NUPKG OUT: the helper the SDK package ships (tools/helper/linux-x64/anemos-kexec),
        // so the bench measures the very bytes a deploy installs, without publishing it again.
        using (var package = System.IO.Compression.ZipFile.OpenRead(args[1]))
        {
            var entry = package.GetEntry("tools/helper/linux-x64/anemos-kexec");
            if (entry is null) { Console.Error.WriteLine($"{args[1]} has no tools/helper/linux-x64/anemos-kexec"); return 1; }
            System.IO.Compression.ZipFileExtensions.ExtractToFile(entry, args[2], overwrite: true);
            File.SetUnixFileMode(args[2], File.GetUnixFileMode(args[2]) | UnixFileMode.UserExecute);
        }
        return 0;

    case "free-port" when args.Length == 1:
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        Console.WriteLine(((System.Net.IPEndPoint)listener.LocalEndpoint).Port);
        listener.Stop();
        return 0;

    case "deploy-report" when args.Length == 2:
        // deploy-report deploy.json: "BYTES TOTAL_MS WAIT_MS phase=ms,…" for bench/run.sh.
        using (var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(args[1])))
        {
            var root = report.RootElement;
            var phases = root.GetProperty("phases").EnumerateArray()
                .Select(p => (Name: p.GetProperty("name").GetString(), Ms: (long)(p.GetProperty("seconds").GetDouble() * 1000))).ToList();
            long wait = phases.Where(p => p.Name == "wait").Sum(p => p.Ms);
            Console.WriteLine($"{root.GetProperty("bytesSent").GetInt64()} {(long)(root.GetProperty("seconds").GetDouble() * 1000)} {wait} {string.Join(',', phases.Select(p => $"{p.Name}={p.Ms}"))}");
        }
        return 0;

    case "tree" when args.Length == 5:
        WriteTree(args[1], int.Parse(args[2]), long.Parse(args[3]), int.Parse(args[4]));
        return 0;

    default:
        Console.Error.WriteLine("usage: assemble BASE OVERLAY OUT | base-state BASE | pack DIR OUT | tree DIR FILES BYTES SEED | manifest KERNEL BASE OVERLAY OUT | stock-image OUT BASE HELPER HOST_KEY AUTHORIZED_KEY | packed-helper NUPKG OUT | free-port | deploy-report FILE");
        return 2;
}

// The same walk the payload task makes: every directory, file and link under the root, by name.
static IEnumerable<PayloadEntry> Entries(string root)
{
    foreach (var info in new DirectoryInfo(root).EnumerateFileSystemInfos("*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
    {
        string name = Path.GetRelativePath(root, info.FullName).Replace('\\', '/');
        if (info.LinkTarget is { } link) yield return new PayloadEntry(name, info.FullName, TarEntryType.SymbolicLink, 0, link);
        else if (info is DirectoryInfo) yield return new PayloadEntry(name, info.FullName, TarEntryType.Directory, File.GetUnixFileMode(info.FullName));
        else yield return new PayloadEntry(name, info.FullName, TarEntryType.RegularFile, File.GetUnixFileMode(info.FullName));
    }
}

// A reproducible tree like a system description: text-like content (compressible, as config
// files are) in 100 folders, sizes spread around the mean.
static void WriteTree(string directory, int files, long totalBytes, int seed)
{
    var random = new Random(seed);
    long mean = totalBytes / files;
    byte[] words = "server listen location root index include worker events http default upstream proxy_pass ssl certificate key\n"u8.ToArray();
    for (int i = 0; i < files; i++)
    {
        string folder = Path.Combine(directory, $"d{i % 100:000}", $"s{i % 7}");
        Directory.CreateDirectory(folder);
        int size = (int)Math.Max(1, mean / 2 + random.NextInt64(mean));
        byte[] content = new byte[size];
        for (int j = 0; j < size; j++)
            content[j] = random.Next(4) == 0 ? (byte)random.Next(256) : words[random.Next(words.Length)];
        File.WriteAllBytes(Path.Combine(folder, $"f{i:00000}.conf"), content);
    }
}
