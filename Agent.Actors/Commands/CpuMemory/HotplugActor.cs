using Agent.Actors.Platform;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.CpuMemory;

/// <summary>
/// guest-set-vcpus and guest-set-memory-blocks with qemu-ga HEAD semantics (qga/commands-posix.c, qmp_guest_set_vcpus and qmp_guest_set_memory_blocks): sysfs state
/// files under <c>agent.paths.sysfs</c> are written only when the state changes.
/// </summary>
public sealed class HotplugActor : CommandActor
{
    public static readonly CommandFamily Family = CommandFamily.Of<GuestSetVcpusArguments, GuestSetMemoryBlocksArguments>("hotplug", ctx => Props(ctx.Settings.Paths));

    public static Props Props(PathSettings paths) => ActorConstructor.Props(() => new HotplugActor(paths));

    private const int ENOENT = 2;
    private const int EACCES = 13;

    private readonly string _cpuDir;
    private readonly string _memoryDir;

    public HotplugActor(PathSettings paths)
    {
        _cpuDir = GuestFiles.Under(paths.Sysfs, "/devices/system/cpu");
        _memoryDir = GuestFiles.Under(paths.Sysfs, "/devices/system/memory/");
        Handle<GuestSetVcpusArguments>(a => SetVcpus(a.Vcpus));
        Handle<GuestSetMemoryBlocksArguments>(a => SetMemoryBlocks(a.MemBlks));
    }

    /// <summary>
    /// The count of leading entries processed; an error only when the very first fails (libvirt
    /// treats a short count as partial success).
    /// </summary>
    private JsonValue SetVcpus(IReadOnlyList<GuestLogicalProcessor> vcpus)
    {
        long processed = 0;
        foreach (var vcpu in vcpus)
        {
            var error = SetVcpu(vcpu.LogicalId, vcpu.Online);
            if (error is not null)
            {
                if (processed == 0) throw new CommandException(error);
                break;
            }
            processed++;
        }
        return new JsonInt(processed);
    }

    private string? SetVcpu(long id, bool online)
    {
        var dir = $"{_cpuDir}/cpu{id}/";
        if (!Directory.Exists(dir)) return $"Could not open '{dir}': No such file or directory";
        var file = $"{dir}/online";
        FileStream stream;
        try { stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0); }
        catch (FileNotFoundException)
        {
            // cpu0 usually has no "online" file: it cannot be offlined, and "onlining" it is a no-op.
            return online ? null : $"logical processor #{id} can't be offlined";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return $"could not open {file}: {GuestFiles.ErrnoText(ex)}";
        }
        using (stream)
        {
            var status = new byte[1];
            try
            {
                if (stream.Read(status, 0, 1) == 0) return $"pread(\"{file}\"): unexpected EOF";
            }
            catch (IOException ex) { return $"pread(\"{file}\"): {GuestFiles.ErrnoText(ex)}"; }
            if (online == (status[0] != '0')) return null;
            try
            {
                stream.Seek(0, SeekOrigin.Begin);
                stream.Write([online ? (byte)'1' : (byte)'0']);
            }
            catch (IOException ex) { return $"pwrite(\"{file}\"): {GuestFiles.ErrnoText(ex)}"; }
            return null;
        }
    }

    private JsonValue SetMemoryBlocks(IReadOnlyList<GuestMemoryBlock> blocks) =>
        new JsonArray(blocks.Select(block =>
        {
            var index = block.PhysIndex;
            var (response, errorCode) = SetMemoryBlock(index, block.Online);
            return (JsonValue)JsonObject.Of(
                ("phys-index", new JsonUInt(index)),
                ("response", new JsonString(response)),
                ("error-code", errorCode is { } code ? new JsonInt(code) : null));
        }).ToArray());

    /// <summary>
    /// qemu-ga's response and error-code, quirks included: a block without a "state" file asked to go
    /// online is a "success" that still carries error-code ENOENT.
    /// </summary>
    private (string Response, int? ErrorCode) SetMemoryBlock(ulong index, bool online)
    {
        if (!Directory.Exists(_memoryDir)) return ("operation-not-supported", ENOENT);
        // qemu-ga formats the index as a signed 64-bit number.
        var dir = $"{_memoryDir}memory{(long)index}/";
        if (!Directory.Exists(dir)) return ("not-found", ENOENT);

        string state;
        try
        {
            var bytes = GuestFiles.ReadAllBytes(dir + "state", max: 10);
            if (bytes.Length == 0) return ("operation-failed", 0);
            state = global::System.Text.Encoding.ASCII.GetString(bytes);
        }
        catch (FileNotFoundException)
        {
            return (online ? "success" : "operation-not-supported", ENOENT);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ("operation-failed", Errno(ex));
        }
        if (online == state.StartsWith("online", StringComparison.Ordinal)) return ("success", null);
        try
        {
            // O_TRUNC as a shell's "echo offline > state" does: sysfs takes the write whole, a plain file must not keep a tail.
            using var stream = new FileStream(dir + "state", FileMode.Truncate, FileAccess.Write, FileShare.ReadWrite, bufferSize: 0);
            stream.Write(global::System.Text.Encoding.ASCII.GetBytes(online ? "online" : "offline"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return ("operation-failed", Errno(ex));
        }
        return ("success", null);
    }

    private static int Errno(Exception ex) => ex switch
    {
        FileNotFoundException or DirectoryNotFoundException => ENOENT,
        UnauthorizedAccessException => EACCES,
        IOException { HResult: > 0 and var h } => h,
        _ => 0,
    };
}
