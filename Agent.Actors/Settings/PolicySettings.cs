using Akka.Configuration;

namespace Agent.Actors.Settings;

/// <summary>
/// agent.policy: which arguments the commands that act as root may take, beyond qemu-ga's per-command
/// lists (see <see cref="Agent.Actors.Policy.ArgumentPolicy"/>). The defaults allow everything.
/// </summary>
/// <param name="Executables">Globs of the programs guest-exec may start (absolute paths).</param>
/// <param name="Environment">Globs of the variable names guest-exec's env may set.</param>
/// <param name="ReadPrefixes">Directories (or files) under which guest-file-open may open for reading.</param>
/// <param name="WritePrefixes">Directories (or files) under which guest-file-open may open for writing.</param>
/// <param name="PasswordUsers">Globs of the users guest-set-user-password may change.</param>
/// <param name="SshUsers">Globs of the users whose authorized_keys guest-ssh-add/remove-authorized-keys may change.</param>
public sealed record PolicySettings(
    IReadOnlyList<string> Executables,
    IReadOnlyList<string> Environment,
    IReadOnlyList<string> ReadPrefixes,
    IReadOnlyList<string> WritePrefixes,
    IReadOnlyList<string> PasswordUsers,
    IReadOnlyList<string> SshUsers)
{
    public const string ExecutablesKey = "agent.policy.exec.executables";
    public const string EnvironmentKey = "agent.policy.exec.env";
    public const string ReadKey = "agent.policy.file.read";
    public const string WriteKey = "agent.policy.file.write";
    public const string PasswordUsersKey = "agent.policy.password.users";
    public const string SshUsersKey = "agent.policy.ssh.users";

    public static PolicySettings Create(Config c)
    {
        var policy = new PolicySettings(
            List(c, "exec.executables"), List(c, "exec.env"),
            List(c, "file.read"), List(c, "file.write"),
            List(c, "password.users"), List(c, "ssh.users"));
        foreach (var (key, prefixes) in new[] { (ReadKey, policy.ReadPrefixes), (WriteKey, policy.WritePrefixes) })
            foreach (var prefix in prefixes)
                if (!prefix.StartsWith('/'))
                    throw new ConfigurationException($"{key}: '{prefix}' is not an absolute path");
        foreach (var pattern in policy.Executables)
            if (!pattern.StartsWith('/') && pattern != "**")
                throw new ConfigurationException($"{ExecutablesKey}: '{pattern}' is not an absolute path or glob");
        return policy;
    }

    private static string[] List(Config c, string key) => c.GetStringList(key).ToArray();
}
