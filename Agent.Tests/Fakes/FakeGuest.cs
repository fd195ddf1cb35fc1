using Agent.Actors;
using Agent.Actors.Commands;
using Agent.Actors.Settings;
using Agent.Tests.Channel;
using Akka.Actor;
using Akka.Configuration;

namespace Agent.Tests.Fakes;

/// <summary>
/// A fake guest in a temp folder: sys/ and proc/ laid out like the kernel's, and a bin/ of fake
/// helper scripts that append their argv to calls.log before doing what the test says. Settings
/// built here point every root and the helper path into the folder, never at the real system.
/// </summary>
public sealed class FakeGuest : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("agent-power-").FullName;
    public string Bin => Path.Combine(Root, "bin");
    public string CallsLog => Path.Combine(Root, "calls.log");

    public FakeGuest()
    {
        Directory.CreateDirectory(Bin);
        // A VM that can do everything, honestly: tests take away what they are about.
        Sys("power/state", "freeze mem disk\n");
        Sys("power/mem_sleep", "s2idle [deep]\n");
        Sys("power/disk", "[platform] shutdown reboot suspend test_resume\n");
        Sys("power/resume", "254:2\n");
        Sys("kernel/security/lockdown", "[none] integrity confidentiality\n");
        Proc("swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/vda2                               partition\t4194300\t\t1024\t\t-2\n");
        Proc("meminfo", "MemTotal:        4030000 kB\nActive(anon):     600000 kB\n");
        Proc("cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/vda1 resume=/dev/vda2 quiet\n");
    }

    public string SysPath(string relative) => Path.Combine(Root, "sys", relative);

    public void Sys(string relative, string content) => Write(Path.Combine(Root, "sys", relative), content);

    public void Proc(string relative, string content) => Write(Path.Combine(Root, "proc", relative), content);

    public string ReadSys(string relative) => File.ReadAllText(SysPath(relative));

    /// <summary>A fake helper: logs "name args..." then runs <paramref name="body"/> (sh).</summary>
    public void Helper(string name, string body)
    {
        var path = Path.Combine(Bin, name);
        Scripts.WriteExecutable(path, $"#!/bin/sh\necho \"{name} $*\" >> '{CallsLog}'\n{body}\n");
    }

    public IReadOnlyList<string> Calls() =>
        File.Exists(CallsLog) ? File.ReadAllLines(CallsLog) : [];

    /// <summary>HOCON pointing every root and the helper path into the fake guest, plus extra agent keys.</summary>
    public string Hocon(string agentHocon = "") => $$"""
        agent {
          paths { sysfs = "{{Root}}/sys", procfs = "{{Root}}/proc", etc = "{{Root}}/etc", dev = "{{Root}}/dev" }
          helpers.path = ["{{Bin}}"]
          {{agentHocon}}
        }
        """;

    /// <summary>Agent settings over the fake roots, with extra HOCON for the agent section.</summary>
    public AgentSettings Settings(string agentHocon = "") => AgentSettings.Create(ConfigurationFactory.ParseString(Hocon(agentHocon)));

    /// <summary>The agent's whole tree in <paramref name="system"/>, its state in this guest, served to an in-memory host.</summary>
    public InMemoryTransport StartAgent(ActorSystem system, IReadOnlyList<CommandFamily> families, string agentHocon = "")
    {
        Directory.CreateDirectory(Path.Combine(Root, "state"));
        var settings = Settings($"state-dir = \"{Root}/state\"\n{agentHocon}");
        var transport = new InMemoryTransport();
        system.ActorOf(AgentSupervisor.Props(settings, () => transport, families), "agent");
        return transport;
    }

    private static void Write(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
