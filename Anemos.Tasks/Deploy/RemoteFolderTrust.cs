namespace Anemos.Tasks.Deploy;

/// <summary>
/// Before the deploy runs or installs the helper under the state folder, it checks on the host
/// that only root can change the way there, by the rule the helper applies to its state folder
/// (docs/helper.md, "State folder"): no symlink; every existing folder from / down owned by root
/// and writable by no group or other, a root-owned sticky folder (/tmp) excepted on the way. So the
/// helper is proven and run from a root-only path: nobody can swap it between proof and run.
/// </summary>
public static class RemoteFolderTrust
{
    /// <summary>A POSIX sh command that exits 0 when the path is trusted, else prints why and exits 1.</summary>
    public static string Command(string path) =>
        "p=" + ShellQuoting.Quote(path) + "; last=1; " +
        "while :; do " +
        "if [ -L \"$p\" ]; then echo \"$p is a symlink\"; exit 1; fi; " +
        "if [ -e \"$p\" ]; then " +
        "[ -d \"$p\" ] || { echo \"$p is not a folder\"; exit 1; }; " +
        "owner=$(stat -c %u \"$p\") && mode=$(stat -c %a \"$p\") || exit 1; " +
        "[ \"$owner\" = 0 ] || { echo \"$p is owned by uid $owner, not root\"; exit 1; }; " +
        "if [ $(( 0$mode & 022 )) != 0 ] && { [ \"$last\" = 1 ] || [ $(( 0$mode & 01000 )) = 0 ]; }; then echo \"$p is writable by its group or others (mode $mode)\"; exit 1; fi; " +
        "fi; last=0; " +
        "[ \"$p\" = / ] && exit 0; p=$(dirname \"$p\"); " +
        "done";
}
