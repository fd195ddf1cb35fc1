
namespace Agent.Actors.Commands.Storage;

/// <summary>GuestPCIAddress; −1 in every field when the controller is unknown.</summary>
public sealed record PciAddress(long Domain, long Bus, long Slot, long Function)
{
    public static readonly PciAddress Invalid = new(-1, -1, -1, -1);

    public JsonObject ToJson() => JsonObject.Of(
        ("domain", new JsonInt(Domain)), ("bus", new JsonInt(Bus)),
        ("slot", new JsonInt(Slot)), ("function", new JsonInt(Function)));
}

/// <summary>GuestCCWAddress: an s390x channel-I/O device.</summary>
public sealed record CcwAddress(long Cssid, long Ssid, long Subchno, long Devno)
{
    public JsonObject ToJson() => JsonObject.Of(
        ("cssid", new JsonInt(Cssid)), ("ssid", new JsonInt(Ssid)),
        ("subchno", new JsonInt(Subchno)), ("devno", new JsonInt(Devno)));
}

/// <summary>GuestDiskAddress: where a disk sits (bus type, PCI controller, bus/target/unit) plus its serial and device node.</summary>
public sealed record DiskAddress(PciAddress Pci, string BusType, long Bus, long Target, long Unit, string? Serial, string? Dev,
    CcwAddress? Ccw = null)
{
    public static readonly DiskAddress Unknown = new(PciAddress.Invalid, "unknown", 0, 0, 0, null, null);

    public JsonObject ToJson() => JsonObject.Of(
        ("pci-controller", Pci.ToJson()),
        ("bus-type", new JsonString(BusType)),
        ("bus", new JsonInt(Bus)),
        ("target", new JsonInt(Target)),
        ("unit", new JsonInt(Unit)),
        ("serial", Serial is null ? null : new JsonString(Serial)),
        ("dev", Dev is null ? null : new JsonString(Dev)),
        ("ccw-address", Ccw?.ToJson()));
}
