using Agent.Protocol.Json;

namespace Agent.Actors.Commands.Storage;

/// <summary>GuestPCIAddress; −1 in every field when the controller is unknown.</summary>
public sealed record PciAddress(long Domain, long Bus, long Slot, long Function)
{
    public static readonly PciAddress Invalid = new(-1, -1, -1, -1);

    public JsonObject ToJson() => JsonObject.Of(
        ("domain", new JsonInt(Domain)), ("bus", new JsonInt(Bus)),
        ("slot", new JsonInt(Slot)), ("function", new JsonInt(Function)));
}

/// <summary>GuestDiskAddress: where a disk sits (bus type, PCI controller, bus/target/unit) plus its serial and device node.</summary>
public sealed record DiskAddress(PciAddress Pci, string BusType, long Bus, long Target, long Unit, string? Serial, string? Dev)
{
    public JsonObject ToJson() => JsonObject.Of(
        ("pci-controller", Pci.ToJson()),
        ("bus-type", new JsonString(BusType)),
        ("bus", new JsonInt(Bus)),
        ("target", new JsonInt(Target)),
        ("unit", new JsonInt(Unit)),
        ("serial", Serial is null ? null : new JsonString(Serial)),
        ("dev", Dev is null ? null : new JsonString(Dev)));
}
