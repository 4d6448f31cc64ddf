using System.IO.Compression;
using System.Runtime.InteropServices;
using Anemos.Core.Protocol;

namespace Anemos.Kexec;

public static class FactsReader
{
    public static Facts Collect(SystemFiles files, string stateDirectory, NetworkSnapshot network)
    {
        string? release = files.Read("/proc/sys/kernel/osrelease")?.Trim();
        var memory = ParseMemInfo(files.Read("/proc/meminfo") ?? "");
        string? config = KernelConfig(files, release);
        string stateCache = Path.Combine(stateDirectory, HelperStateLayout.Cache);
        return new Facts
        {
            HelperVersion = HelperVersion.Current,
            Architecture = RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(),
            KernelRelease = release,
            Libc = SystemLibc.Of(files),
            Root = files.Root == "/" && Native.IsRoot(),
            MemTotalBytes = memory.GetValueOrDefault("MemTotal"),
            MemAvailableBytes = memory.GetValueOrDefault("MemAvailable"),
            Kexec = new KexecFacts
            {
                LoadDisabled = Flag(files.Read("/proc/sys/kernel/kexec_load_disabled")),
                Loaded = Flag(files.Read("/sys/kernel/kexec_loaded")),
                FileLoadConfigured = config is null ? null : ConfigEnabled(config, "CONFIG_KEXEC_FILE"),
                SignatureRequired = config is null ? null : ConfigEnabled(config, "CONFIG_KEXEC_SIG_FORCE"),
            },
            Lockdown = ParseLockdown(files.Read("/sys/kernel/security/lockdown")),
            Firmware = files.Exists(EfiFolder) ? FirmwareNames.Uefi : FirmwareNames.Bios,
            SecureBoot = SecureBoot(files),
            InitSystem = InitSystem(files),
            ConsoleArguments = ConsoleArguments(files.Read("/proc/cmdline") ?? ""),
            StateDirectory = stateDirectory,
            StateFreeBytes = FreeBytes(stateDirectory),
            CachedSha256 = Directory.Exists(stateCache)
                ? Directory.EnumerateFiles(stateCache).Select(Path.GetFileName).OfType<string>().Where(n => n.Length == 64).Order(StringComparer.Ordinal).ToArray()
                : [],
            HttpsAvailable = OpenSsl.Available,
            Network = network,
            BootDisk = BootDiskReader.Find(files),
        };
    }

    /// <summary>/proc/meminfo values in bytes ("MemTotal:  16303932 kB").</summary>
    public static Dictionary<string, long> ParseMemInfo(string text)
    {
        var values = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string line in text.Split('\n'))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            string[] parts = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !long.TryParse(parts[0], out long number)) continue;
            values[line[..colon]] = parts.Length > 1 && parts[1] == "kB" ? number * 1024 : number;
        }
        return values;
    }

    /// <summary>"none [integrity] confidentiality" → "integrity".</summary>
    public static string? ParseLockdown(string? text)
    {
        if (text is null) return null;
        int open = text.IndexOf('['), close = text.IndexOf(']');
        return open >= 0 && close > open ? text[(open + 1)..close] : null;
    }

    /// <summary>The console= arguments of a kernel command line, to carry into the deploy kernel.</summary>
    public static string[] ConsoleArguments(string cmdline) =>
        cmdline.Split([' ', '\n', '\t'], StringSplitOptions.RemoveEmptyEntries)
            .Where(a => a.StartsWith("console=", StringComparison.Ordinal) || a.StartsWith("earlycon", StringComparison.Ordinal))
            .ToArray();

    public static bool ConfigEnabled(string config, string option) =>
        config.Split('\n').Any(l => l.Trim() == option + "=y");

    static bool? Flag(string? text) => text?.Trim() switch { "1" => true, "0" => false, _ => null };

    static string? KernelConfig(SystemFiles files, string? release)
    {
        if (release is not null && files.Read($"/boot/config-{release}") is { } config) return config;
        if (files.ReadBytes("/proc/config.gz") is { } compressed)
        {
            using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
            using var reader = new StreamReader(gzip);
            return reader.ReadToEnd();
        }
        return null;
    }

    /// <summary>The kernel makes it when the machine booted through UEFI (and a kexec'd kernel was handed the firmware's tables).</summary>
    const string EfiFolder = "/sys/firmware/efi";

    static bool? SecureBoot(SystemFiles files)
    {
        const string variable = "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-00e098032b8c";
        byte[]? value = files.ReadBytes(variable);
        if (value is { Length: >= 5 }) return value[4] == 1; // 4 bytes of attributes, then the value
        return files.Exists(EfiFolder) ? null : false;
    }

    public static string InitSystem(SystemFiles files)
    {
        if (files.Exists("/run/systemd/system")) return "systemd";
        if (files.Exists("/run/openrc") || files.Exists("/sbin/openrc")) return "openrc";
        string? comm = files.Read("/proc/1/comm")?.Trim();
        return comm switch
        {
            "systemd" => "systemd",
            "init" when files.Exists("/bin/busybox") => "busybox",
            null => "unknown",
            _ => comm,
        };
    }

    static long? FreeBytes(string directory)
    {
        try
        {
            for (string? d = directory; d is not null; d = Path.GetDirectoryName(d))
                if (Directory.Exists(d)) return new DriveInfo(d).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException) { }
        return null;
    }
}

public static class HelperVersion
{
    public static string Current { get; } =
        typeof(HelperVersion).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
