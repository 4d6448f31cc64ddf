namespace Anemos.Tasks.Deploy;

/// <summary>
/// Before the deploy runs or installs the helper under the state folder, one remote command, as
/// root, makes the way to STATE/bin and proves it by the helper's rule (docs/helper.md, "State
/// folder"). It walks from / down: a missing folder is made by root (exclusively, so one somebody
/// made in between fails the check; the state folder and bin/ 0700, folders above it 0755), and
/// every folder is then checked: no symlink, owned by root, writable by no group or other. A
/// root-owned sticky folder such as /tmp is accepted above the state folder only, never as the state
/// folder or bin/. Checking first and making later left a gap in which a local user could make the
/// folder and put a helper of their own there (issue 28.1); once this passes, only root can change
/// anything on the way, so nothing can be swapped between the proof and the run.
/// </summary>
public static class RemoteFolderTrust
{
    /// <summary>A POSIX sh command that exits 0 once STATE/bin exists and is trusted, else prints why and exits 1.</summary>
    public static string EnsureCommand(string stateDirectory) =>
        "check() { " +
        "if [ -L \"$1\" ]; then echo \"$1 is a symlink\"; exit 1; fi; " +
        "[ -d \"$1\" ] || { echo \"$1 is not a folder\"; exit 1; }; " +
        "owner=$(stat -c %u \"$1\") && mode=$(stat -c %a \"$1\") || exit 1; " +
        "[ \"$owner\" = 0 ] || { echo \"$1 is owned by uid $owner, not root\"; exit 1; }; " +
        // $2 = 1 above the state folder, where a root-owned sticky folder (/tmp) is accepted.
        "if [ $(( 0$mode & 022 )) != 0 ] && { [ \"$2\" = 0 ] || [ $(( 0$mode & 01000 )) = 0 ]; }; then echo \"$1 is writable by its group or others (mode $mode)\"; exit 1; fi; " +
        "}; " +
        "state=" + ShellQuoting.Quote(stateDirectory) + "; " +
        "case \"$state\" in *//*) echo \"$state is not a canonical path\"; exit 1 ;; /?*) ;; *) echo \"$state is not an absolute path\"; exit 1 ;; esac; " +
        "umask 077; check / 1; p=; way=\"$state/bin\"; set -f; IFS=/; " +
        "for c in $way; do " +
        "case \"$c\" in '') continue ;; .|..) echo \"$state is not a canonical path\"; exit 1 ;; esac; " +
        "p=\"$p/$c\"; " +
        "case \"$p\" in \"$state\"|\"$state\"/*) above=0 ;; *) above=1 ;; esac; " +
        "if [ ! -e \"$p\" ] && [ ! -L \"$p\" ]; then " +
        "if [ $above = 1 ]; then mkdir -m 0755 \"$p\" 2>&1; else mkdir \"$p\" 2>&1; fi || { echo \"$p cannot be created\"; exit 1; }; " +
        "fi; " +
        "check \"$p\" $above; " +
        "done";
}
