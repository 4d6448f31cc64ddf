using System.Globalization;
using Anemos.Tasks.Ssh;

namespace Anemos.Tasks.Deploy;

/// <summary>
/// The host fetches the gzipped helper itself, with the distribution's own tools (there is no
/// helper yet to do it): curl (https only, redirects too) or else wget, reading at most one byte
/// more than the expected size, so no server can fill the host's disk; the file counts only when
/// its size and sha256 are the pinned ones. It exits 0 and prints the tool's name, or prints why not.
/// </summary>
public static class HelperFetch
{
    public static string Command(HelperSource source, string remotePath)
    {
        string url = ShellQuoting.Quote(source.Url.AbsoluteUri), part = ShellQuoting.Quote(remotePath + ".part"), errors = ShellQuoting.Quote(remotePath + ".err");
        string size = source.Size.ToString(CultureInfo.InvariantCulture), limit = (source.Size + 1).ToString(CultureInfo.InvariantCulture);
        string folder = ShellQuoting.Quote(remotePath[..remotePath.LastIndexOf('/')]);
        // Made as an upload makes it (ResumableUpload): root's alone, for a host on which nothing was installed yet.
        return $$"""
            umask 077 && mkdir -p {{folder}} || exit 6
            if command -v curl >/dev/null 2>&1; then tool=curl
            elif command -v wget >/dev/null 2>&1; then tool=wget
            else echo 'the host has neither curl nor wget'; exit 3; fi
            rm -f {{part}} {{errors}}
            if [ $tool = curl ]; then curl -fsSL --proto =https --proto-redir =https --max-filesize {{size}} {{url}}; else wget -q -O - {{url}}; fi 2>{{errors}} | head -c {{limit}} > {{part}}
            got=$(wc -c < {{part}}); why=$(tail -n 1 {{errors}} 2>/dev/null); rm -f {{errors}}
            if [ "$got" -ne {{size}} ]; then rm -f {{part}}; echo "$tool read $got bytes, not {{size}}${why:+ ($why)}"; exit 4; fi
            sum=$(sha256sum {{part}}); sum=${sum%% *}
            if [ "$sum" != {{source.Sha256}} ]; then rm -f {{part}}; echo "the file has sha256 $sum, not {{source.Sha256}}"; exit 5; fi
            mv -f {{part}} {{ShellQuoting.Quote(remotePath)}} && echo $tool
            """;
    }
}
