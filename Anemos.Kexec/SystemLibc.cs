namespace Anemos.Kexec;

/// <summary>The C library a host's programs run on, for the facts (docs/helper.md, "facts").</summary>
public static class SystemLibc
{
    /// <summary>musl or glibc, as /bin/sh's loader says; a static /bin/sh (no loader to ask): musl when only musl's loader is there.</summary>
    public static string Of(SystemFiles files)
    {
        // The program headers and the interpreter's name sit in the first page of an executable.
        string? loader = files.ReadHead("/bin/sh", 4096) is { } shell ? Core.ElfInterpreter.Of(shell) : null;
        if (loader is not null) return Core.ElfInterpreter.IsMusl(loader) ? "musl" : "glibc";
        return files.Exists("/lib/ld-musl-x86_64.so.1") || files.Exists("/lib/ld-musl-aarch64.so.1") ? "musl" : "glibc";
    }
}
