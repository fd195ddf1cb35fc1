using Agent.Actors.Commands.Users;
using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.Users;

/// <summary>guest-get-users (utmp) and guest-ssh-get-authorized-keys (passwd, then the user's key file).</summary>
public sealed class UsersActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestGetUsersArguments, GuestSshGetAuthorizedKeysArguments>("users", ctx => Props(ctx.Settings));

    public static Props Props(AgentSettings settings) => ActorConstructor.Props(() => new UsersActor(settings));

    private readonly AgentSettings _settings;
    private readonly BlockingCallThreads _keyThreads = new("ssh-keys", maxIdle: 1);

    public UsersActor(AgentSettings settings)
    {
        _settings = settings;
        Handle<GuestGetUsersArguments>(_ => LoggedInUsers());
        HandleAsync<GuestSshGetAuthorizedKeysArguments>(a => AuthorizedKeys(a.Username));
    }

    protected override void PostStop() => _keyThreads.Dispose();

    /// <summary>USER_PROCESS records, one entry per user in first-seen order, each with its earliest login.</summary>
    private JsonValue LoggedInUsers()
    {
        var earliest = new Dictionary<string, double>();
        var order = new List<string>();
        foreach (var r in Utmp.Read(_settings.Inventory.Utmp))
        {
            if (r.Type != Utmp.UserProcess) continue;
            var login = r.Seconds + r.Microseconds / 1e6;
            if (earliest.TryGetValue(r.User, out var seen))
            {
                if (login < seen) earliest[r.User] = login;
                continue;
            }
            earliest[r.User] = login;
            order.Add(r.User);
        }
        return new JsonArray(order.Select(u => (JsonValue)JsonObject.Of(
            ("user", new JsonString(u)),
            ("login-time", new JsonDouble(earliest[u])))).ToArray());
    }

    /// <summary>Stripped, non-empty, non-comment lines of ~/.ssh/authorized_keys in reverse file order.</summary>
    private Task<JsonValue> AuthorizedKeys(string username)
    {
        var (etc, limit) = (_settings.Paths.Etc, _settings.Ssh.KeyFileLimit);
        // The user's files may be a FIFO or sit on a dead mount: never on the actor's thread.
        return _keyThreads.Run<JsonValue>(() =>
        {
            var keys = AuthorizedKeysFile.Read(etc, username, limit)
                .Select(l => l.Trim(' ', '\t', '\n', '\r', '\f', '\v'))
                .Where(l => l.Length > 0 && l[0] != '#')
                .Reverse()
                .Select(l => (JsonValue)new JsonString(l))
                .ToArray();
            return JsonObject.Of(("keys", new JsonArray(keys)));
        });
    }
}
