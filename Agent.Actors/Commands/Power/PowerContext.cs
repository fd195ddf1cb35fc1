using Agent.Actors.Processes;
using Agent.Actors.Settings;

namespace Agent.Actors.Commands.Power;

/// <summary>What the power actors depend on: their settings, the configured roots and helper path, and the reaper.</summary>
public sealed record PowerContext(PowerSettings Power, ProcessSettings Processes, HelperSettings Helpers, KernelPower Kernel, IActorRef Reaper)
{
    public static PowerContext From(CommandContext ctx) => new(
        ctx.Settings.Power, ctx.Settings.Processes, ctx.Settings.Helpers, new KernelPower(ctx.Settings.Paths), ctx.Reaper);
}
