using Agent.Actors.Commands.Freeze;
using Agent.Actors.Platform;
using Agent.Protocol.Json;
using Agent.Tests.Fakes;
using Agent.Tests.Commands;
using Akka.Actor;
using Xunit.Abstractions;

namespace Agent.Tests.Commands.Freeze;

public sealed class FstrimActorSpecs : GuestControlSpecBase
{
    private readonly FakeFilesystems _filesystems = new();

    public FstrimActorSpecs(ITestOutputHelper output) : base(output)
    {
        Guest.Proc("self/mountinfo", """
            22 1 254:1 / / rw - ext4 /dev/vda1 rw
            23 22 254:2 / /boot rw - ext4 /dev/vda2 rw
            24 22 0:21 / /proc rw - proc proc rw
            25 22 254:3 / /data rw - xfs /dev/vdb rw
            26 22 11:0 / /media/cdrom ro - iso9660 /dev/sr0 ro

            """);
    }

    private IActorRef Family() => Sys.ActorOf(FstrimActor.Props(Settings().Paths.Procfs, _filesystems, new FakeFilesystemStats()));

    [Fact]
    public async Task Every_block_mount_is_trimmed_and_reported_in_reverse_mount_order()
    {
        _filesystems.TrimResults["/data"] = new TrimOutcome(MountCall.Ok, 1_073_741_824, 65536);

        var answer = await Succeeds(Family(), "guest-fstrim", Args(("minimum", new JsonInt(65536))));

        Assert.Equal(["trim /media/cdrom 65536", "trim /data 65536", "trim /boot 65536", "trim / 65536"], _filesystems.Calls);
        AssertJson("""{"paths": [{"path": "/media/cdrom", "trimmed": 4096, "minimum": 65536}, {"path": "/data", "trimmed": 1073741824, "minimum": 65536}, {"path": "/boot", "trimmed": 4096, "minimum": 65536}, {"path": "/", "trimmed": 4096, "minimum": 65536}]}""", answer);
    }

    [Fact]
    public async Task Per_path_errors_do_not_stop_the_others()
    {
        _filesystems.TrimResults["/media/cdrom"] = new TrimOutcome(new MountCall(false, 25), 0, 0);
        _filesystems.TrimResults["/data"] = new TrimOutcome(new MountCall(false, FakeFilesystems.EOPNOTSUPP), 0, 0);
        _filesystems.TrimResults["/boot"] = new TrimOutcome(new MountCall(true, FakeFilesystems.EACCES), 0, 0);
        _filesystems.TrimResults["/"] = new TrimOutcome(new MountCall(false, FakeFilesystems.EIO), 0, 0);

        var answer = await Succeeds(Family(), "guest-fstrim");

        AssertJson("""{"paths": [{"path": "/media/cdrom", "error": "trim not supported"}, {"path": "/data", "error": "trim not supported"}, {"path": "/boot", "error": "failed to open: Permission denied"}, {"path": "/", "error": "failed to trim: Input/output error"}]}""", answer);
        Assert.All(_filesystems.Calls, c => Assert.EndsWith(" 0", c));
    }
}
