using Agent.Actors.Settings;
using Agent.Actors.Platform;

namespace Agent.Actors.Commands.Users;

/// <summary>
/// guest-ssh-add-authorized-keys and guest-ssh-remove-authorized-keys with qemu-ga's semantics:
/// users come from &lt;etc&gt;/passwd; ~/.ssh is created 0700 and owned by the user; the key file is
/// rewritten atomically (lines joined with '\n', no trailing newline), owned by the user, mode 0600,
/// all through <see cref="UserTree"/> so the user's links are never followed. The file work runs on
/// blocking-call threads, one call after the other (a rewrite reads what the previous one wrote).
/// </summary>
public sealed class AuthorizedKeysActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestSshAddAuthorizedKeysArguments, GuestSshRemoveAuthorizedKeysArguments>("ssh", ctx => Props(ctx.Settings.Paths.Etc, ctx.Settings.Ssh));

    public static Props Props(string etc, SshSettings settings) =>
        ActorConstructor.Props(() => new AuthorizedKeysActor(etc, settings));

    private readonly BlockingCallThreads _threads = new("ssh-keys", maxIdle: 1);
    private Task _last = Task.CompletedTask;

    public AuthorizedKeysActor(string etc, SshSettings settings)
    {
        HandleAsync<GuestSshAddAuthorizedKeysArguments>(a =>
        {
            var (username, keys, reset) = (a.Username, a.Keys, a.Reset == true);
            CheckKeys(keys);
            return InTurn(() => AuthorizedKeysFile.Add(etc, username, keys, reset, settings.KeyFileLimit));
        });
        HandleAsync<GuestSshRemoveAuthorizedKeysArguments>(a =>
        {
            var (username, keys) = (a.Username, a.Keys);
            CheckKeys(keys);
            return InTurn(() => AuthorizedKeysFile.Remove(etc, username, keys, settings.KeyFileLimit));
        });
    }

    protected override void PostStop() => _threads.Dispose();

    /// <summary>Runs <paramref name="change"/> once every earlier change has finished.</summary>
    private Task<JsonValue> InTurn(Action change)
    {
        var threads = _threads;
        var next = _last.ContinueWith(_ => threads.Run<JsonValue>(() =>
        {
            change();
            return JsonObject.Empty;
        }), TaskScheduler.Default).Unwrap();
        _last = next;
        return next;
    }

    private static void CheckKeys(IReadOnlyList<string> keys)
    {
        foreach (var key in keys)
            if (key.Length == 0 || key[0] == '#' || key.Contains('\n'))
                throw new CommandException($"invalid OpenSSH public key: '{key}'");
    }
}
