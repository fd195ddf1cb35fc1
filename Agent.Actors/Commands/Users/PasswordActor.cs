using Agent.Actors.Platform;
using Agent.Actors.Processes;
using Agent.Actors.Settings;
using Agent.Protocol.Encoding;

namespace Agent.Actors.Commands.Users;

/// <summary>
/// guest-set-user-password with qemu-ga HEAD semantics (qga/commands-posix.c, qmp_guest_set_user_password): the base64 password decoded
/// leniently, newline and colon checks, then <c>chpasswd</c> (with <c>-e</c> when crypted) fed
/// <c>user:password\n</c> on stdin. The password goes only to the helper's stdin: never to argv, never to a log.
/// </summary>
public sealed class PasswordActor(HelperSettings helpers, ProcessSettings processes, IActorRef reaper) : HelperCommandOwner(reaper)
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestSetUserPasswordArguments>("password", ctx => Props(ctx.Settings.Helpers, ctx.Settings.Processes, ctx.Reaper));

    public static Props Props(HelperSettings helpers, ProcessSettings processes, IActorRef reaper) =>
        ActorConstructor.Props(() => new PasswordActor(helpers, processes, reaper));

    protected override void PreStart() => HandleLater<GuestSetUserPasswordArguments>(SetPassword);

    private void SetPassword(Execute e, GuestSetUserPasswordArguments a)
    {
        var username = a.Username;
        var password = LenientBase64.Decode(a.Password)
                       ?? throw new CommandException(LenientBase64.InvalidCharacters);
        // qemu-ga treats the decoded bytes as a C string and would set only the part before a NUL;
        // a password shorter than the host sent is worse than none, so it is refused (README).
        if (Array.IndexOf(password, (byte)0) >= 0) throw new CommandException("forbidden characters in raw password: NUL");
        if (Array.IndexOf(password, (byte)'\n') >= 0) throw new CommandException("forbidden characters in raw password");
        if (username.Contains('\n') || username.Contains(':')) throw new CommandException("forbidden characters in username");

        var user = OsString.Encode(username);
        byte[] input = [.. user, (byte)':', .. password, (byte)'\n'];
        RunHelper(e, new HelperCommand.Spec(helpers.Find("chpasswd") ?? "chpasswd", a.Crypted ? ["-e"] : [],
            input, "set user password", helpers.Timeout, processes.HelperOutputLimit));
    }
}
