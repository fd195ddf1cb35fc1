using Agent.Actors.Settings;
using Agent.Host;
using Agent.Tests.EndToEnd;
using Agent.Tests.Settings;
using Akka.Configuration;
using Akka.Configuration.Hocon;

namespace Agent.Tests.Host;

/// <summary>
/// Restrictions survive a move from qemu-ga: the legacy blacklist spellings still block, -c keeps
/// qemu-ga's meaning, and ActorAgent's own HOCON file layers over qemu-ga's keyfile.
/// </summary>
public sealed class AgentConfigurationSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("agent-layers-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    private string NoFile => Path.Combine(_dir, "absent.conf");

    private static CommandLine Cli(params string[] args) => CommandLine.Parse(args, out var error) ?? throw new InvalidOperationException(error);

    [Fact]
    public void The_legacy_blacklist_key_blocks_with_qemus_warning_and_unknown_keys_are_warned_about()
    {
        var conf = Write("qemu-ga.conf", "[general]\nblacklist=guest-exec,guest-file-open\nblock-rpcs=guest-ping\nfrobnicate=yes\n[extra]\nx=1\n");

        var c = AgentConfiguration.Load(Cli("-c", conf, "-m", "unix-listen", "-p", "s"), null, NoFile);

        Assert.Equal(["guest-exec", "guest-file-open", "guest-ping"], c.Settings.Rpc.Block.Order());
        Assert.Equal([
            "config using deprecated 'blacklist' key, should be replaced with the 'block-rpcs' key.",
            "config: unknown key 'frobnicate' in group [general] is ignored",
            "config: group [extra] is ignored",
        ], c.Warnings);
    }

    [Theory]
    [InlineData("--blacklist=guest-exec")]
    [InlineData("--blacklist", "guest-exec")]
    public void The_legacy_blacklist_option_is_minus_b_with_a_warning(params string[] option)
    {
        var c = AgentConfiguration.Load(Cli([.. option, "-b", "guest-ping", "-m", "unix-listen", "-p", "s"]), null, NoFile);

        Assert.Equal(["guest-exec", "guest-ping"], c.Settings.Rpc.Block.Order());
        Assert.Equal(["option '--blacklist' is deprecated, use '--block-rpcs' instead"], c.Warnings);
    }

    [Theory]
    [InlineData("/run/agent \"quoted\" \\back\\slash")]
    [InlineData("/tmp/line\nbreak\ttab\u007fdel")]
    [InlineData("/tmp/ünïcødé ${not.a.substitution} # not a comment")]
    public void Command_line_values_reach_the_settings_unchanged_whatever_their_characters(string path)
    {
        var c = AgentConfiguration.Load(Cli("-m", "unix-listen", "-p", path, "-t", path + "-state", "-b", "guest-ping,a\"b"), null, NoFile);

        Assert.Equal(path, c.Settings.Channel.Path);
        Assert.Equal(path + "-state", c.Settings.StateDir);
        Assert.Equal(["a\"b", "guest-ping"], c.Settings.Rpc.Block.Order());
    }

    [Fact]
    public void A_prefix_shared_by_blacklist_and_block_rpcs_is_not_ambiguous_as_getopt_long_has_it()
    {
        Assert.Equal(["guest-exec"], Cli("--bl=guest-exec").BlockRpcs);
        Assert.Null(CommandLine.Parse(["--b"], out var error));
        Assert.Equal("option '--block-rpcs' requires an argument", error); // glibc names the option in full
    }

    [Fact]
    public void Minus_c_replaces_qemu_gas_default_keyfile_and_the_agents_hocon_layers_over_it()
    {
        var keyfile = Write("mine.conf", "[general]\nmethod=unix-listen\npath=/k/sock\nstatedir=/k\nverbose=true\nblock-rpcs=guest-ping\n");
        var ignored = Write("qga-conf-env.conf", "[general]\nblock-rpcs=guest-info\n");
        var agent = Write("agent.conf", """
            agent {
              state-dir = "/hocon"
              logfile = "/hocon/log"
              rpc.block = ["guest-get-time"]
              exec.output-limit = 1MiB
            }
            """);

        var c = AgentConfiguration.Load(Cli("-c", keyfile, "-b", "guest-exec", "-l", "/cli/log"), ignored, agent);

        Assert.Equal("/hocon", c.Settings.StateDir);          // HOCON over the keyfile
        Assert.Equal("/cli/log", c.Settings.LogFile);         // command line over both
        Assert.True(c.Settings.Verbose);                      // keyfile, not overridden
        Assert.Equal("/k/sock", c.Settings.Channel.Path);
        Assert.Equal(1024 * 1024, c.Settings.Exec.OutputLimit);
        Assert.Equal(["guest-exec", "guest-get-time", "guest-ping"], c.Settings.Rpc.Block.Order());
        Assert.DoesNotContain("guest-info", c.Settings.Rpc.Block);
        Assert.Equal([$"{keyfile} (qemu-ga keyfile)", $"{agent} (ActorAgent HOCON)"], c.Layers);
    }

    [Fact]
    public void Without_minus_c_qga_conf_names_the_keyfile_and_the_hocon_file_is_still_read()
    {
        var keyfile = Write("env.conf", "[general]\nblacklist=guest-exec\n");
        var agent = Write("agent.conf", "agent.rpc.block = [\"guest-ping\"]\n");

        var c = AgentConfiguration.Load(Cli("-m", "unix-listen", "-p", "s"), keyfile, agent);

        Assert.Equal(["guest-exec", "guest-ping"], c.Settings.Rpc.Block.Order());
        Assert.Equal(2, c.Layers.Count);
    }

    [Fact]
    public void Dump_conf_stays_a_keyfile_and_names_the_merged_layers_in_comments()
    {
        var keyfile = Write("q.conf", "[general]\nblacklist=guest-exec\nstatedir=/k\n");
        var agent = Write("agent.conf", "agent.state-dir = \"/h\"\n");

        var dump = AgentConfiguration.Load(Cli("-m", "unix-listen", "-p", "s", "-D"), keyfile, agent).DumpKeyFile();

        Assert.StartsWith($"# merged: {keyfile} (qemu-ga keyfile)\n# merged: {agent} (ActorAgent HOCON)\n[general]\n", dump);
        Assert.Contains("\nstatedir=/h\n", dump);
        Assert.Contains("\nblock-rpcs=guest-exec\n", dump);
        // Read back as qemu-ga reads a keyfile: the comments are skipped, the keys are all there.
        var back = KeyFile.Parse(dump);
        Assert.Equal("/h", back.Get("statedir"));
        Assert.Empty(back.OtherGroups);

        Assert.StartsWith("[general]\n", AgentConfiguration.Load(Cli("-m", "unix-listen", "-p", "s", "-D"), NoFile, NoFile).DumpKeyFile());
    }

    [Fact]
    public void A_broken_hocon_file_is_an_error_naming_it()
    {
        var agent = Write("agent.conf", "agent { rpc.block = [ \n");
        var e = Assert.Throws<ConfigurationError>(() => AgentConfiguration.Load(Cli("-m", "unix-listen", "-p", "s"), NoFile, agent));
        Assert.StartsWith($"error loading configuration from path: {agent}, ", e.Message);
    }

    [Fact]
    public async Task A_running_agent_refuses_what_the_keyfile_blacklist_and_the_hocon_file_block_and_warns_once()
    {
        var keyfile = Write("qemu-ga.conf", "[general]\nblacklist=guest-info\n");
        var agent = Write("agent.conf", "agent.rpc.block = [\"guest-get-time\"]\n");
        await using var process = await AgentProcess.StartAsync(AgentProcess.OurAgent, ["-c", keyfile],
            new Dictionary<string, string> { ["ACTORAGENT_CONF"] = agent });

        foreach (var name in new[] { "guest-info", "guest-get-time" })
            Assert.Equal($"Command {name} has been disabled: the command is not allowed",
                Json.ErrorDesc(await process.RoundTripAsync($"{{\"execute\": \"{name}\"}}")));
        Assert.False(Json.IsError(await process.RoundTripAsync("{\"execute\": \"guest-ping\"}")));
        Assert.Equal(0, await process.TerminateAsync());
        Assert.Single(process.Stderr.Split('\n'), l => l.Contains("config using deprecated 'blacklist' key"));
    }

    /// <summary>Operator layers that change values, lists, per-command tables and Akka's own keys in many sections.</summary>
    private const string OperatorHocon = """
        agent {
          channel { read-size = 8192, write-timeout = 5s, event-loop.throughput = 7 }
          dispatch.deadlines { guest-fstrim = 3h, guest-exec = 1s }
          rpc.allow = ["guest-ping", "guest-info"]
          paths.sysfs = "/fake/sys"
          helpers.path = ["/opt/bin"]
          suspend { strategies = [sysfs], probe = qemu }
          exec { output-limit = 1MiB, max-running = 3 }
          policy.exec.executables = ["/usr/bin/*"]
          audit.facility = local3
          memory.after-start = 0
        }
        akka.actor.deployment."/agent/dispatcher/exec".dispatcher = agent.channel.event-loop
        akka.log-dead-letters = on
        """;

    private static IEnumerable<string> SectionPaths(HoconValue value, string path)
    {
        if (value.GetObject() is not { } members) yield break;
        if (path.Length > 0) yield return path;
        foreach (var (key, child) in members.Items)
            foreach (var inner in SectionPaths(child, path.Length == 0 ? $"\"{key}\"" : $"{path}.\"{key}\""))
                yield return inner;
    }

    [Fact]
    public void The_flattened_configuration_reads_every_section_and_setting_as_the_layered_chain_does()
    {
        var chain = ConfigurationFactory.ParseString("akka.loglevel = DEBUG\n")
            .WithFallback(ConfigurationFactory.ParseString("agent.channel.method = \"unix-listen\"\nagent.rpc.block = [\"guest-exec\"]\n"))
            .WithFallback(ConfigurationFactory.ParseString(OperatorHocon))
            .WithFallback(ConfigurationFactory.ParseString("agent { state-dir = \"/k\", verbose = true }"))
            .WithFallback(AgentSettings.DefaultConfig());
        var flat = AgentSettings.Flattened(chain);

        Assert.Null(flat.Fallback);
        var paths = SectionPaths(flat.Root, "").ToArray();
        Assert.Contains("\"akka\".\"actor\".\"deployment\".\"/agent/dispatcher/exec\"", paths);
        // Config.GetConfig merges a section with the chain's fallbacks; the flattened tree has them merged already.
        foreach (var path in paths) HoconTrees.AssertSame(chain.GetConfig(path).Root, flat.GetConfig(path).Root, path);

        var settings = AgentSettings.FromLayered(flat);
        Assert.Equal(Describe(AgentSettings.Create(chain)), Describe(settings));
        Assert.Equal((8192, "unix-listen", "/k", true), (settings.Channel.ReadSize, settings.Channel.Method, settings.StateDir, settings.Verbose));
        Assert.Equal(TimeSpan.FromHours(3), settings.Dispatch.DeadlineFor("guest-fstrim"));
        Assert.Equal(TimeSpan.FromSeconds(1), settings.Dispatch.DeadlineFor("guest-exec"));
        Assert.Equal([SuspendStrategy.Sysfs], settings.Power.Strategies);
        Assert.Equal(["guest-exec"], settings.Rpc.Block);
        Assert.Equal(TimeSpan.Zero, settings.Memory.AfterStart);
    }

    [Fact]
    public void Loaded_settings_are_the_layers_read_by_akka_alone()
    {
        var keyfile = Write("q.conf", "[general]\nstatedir=/k\nverbose=true\nblock-rpcs=guest-exec\n");
        var agent = Write("agent.conf", OperatorHocon);

        var loaded = AgentConfiguration.Load(Cli("-c", keyfile, "-m", "unix-listen", "-p", "/s \"q\"\\x", "-t", "/t"), null, agent);
        // The same layers written by hand and parsed by Akka's parser only, as the agent read them before.
        var byAkka = AgentSettings.Create(ConfigurationFactory.ParseString(
                "agent.channel.method = \"unix-listen\"\nagent.channel.path = \"/s \\\"q\\\"\\\\x\"\nagent.state-dir = \"/t\"\n" +
                "agent.rpc.block = [\"guest-exec\"]\nagent.rpc.allow = [\"guest-ping\", \"guest-info\"]\n")
            .WithFallback(ConfigurationFactory.ParseString(OperatorHocon))
            .WithFallback(ConfigurationFactory.ParseString("agent { state-dir = \"/k\", verbose = true }")));

        Assert.Equal(Describe(byAkka), Describe(loaded.Settings));
        Assert.Equal("/s \"q\"\\x", loaded.Settings.Channel.Path);
        Assert.Null(loaded.Config.Fallback);
        Assert.Equal("8192", loaded.Config.GetString("agent.channel.read-size"));
    }

    /// <summary>Every setting, lists and tables included, as text.</summary>
    private static string Describe(object? value) => value switch
    {
        null => "null",
        string s => $"\"{s}\"",
        System.Collections.IDictionary d => "{" + string.Join(", ", d.Keys.Cast<object>().Select(k => $"{k}: {Describe(d[k])}").Order()) + "}",
        System.Collections.IEnumerable e => "[" + string.Join(", ", e.Cast<object>().Select(Describe)) + "]",
        _ when value.GetType().Namespace == typeof(AgentSettings).Namespace && !value.GetType().IsEnum =>
            value.GetType().Name + "(" + string.Join(", ", value.GetType().GetProperties()
                .Where(p => p.GetIndexParameters().Length == 0 && p.Name != "EqualityContract")
                .Select(p => $"{p.Name} = {Describe(p.GetValue(value))}")) + ")",
        _ => value.ToString()!,
    };
}
