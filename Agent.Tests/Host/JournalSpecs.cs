using System.Net.Sockets;
using Agent.Host;
using Serilog.Events;
using Serilog.Parsing;

namespace Agent.Tests.Host;

/// <summary>Log lines on the journal: $JOURNAL_STREAM recognised from fd 2's inode, priority prefixes.</summary>
public sealed class JournalSpecs
{
    private static string Inode(string fdLink) =>
        new FileInfo(fdLink).LinkTarget!.Replace("socket:[", "").TrimEnd(']');

    [Fact]
    public void Journal_stream_matches_only_the_socket_it_names()
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        using var other = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        var link = $"/proc/self/fd/{socket.SafeHandle.DangerousGetHandle()}";
        var otherLink = $"/proc/self/fd/{other.SafeHandle.DangerousGetHandle()}";
        var stream = $"8:{Inode(link)}";

        Assert.True(ServiceManager.JournalStreamIs(stream, link));
        Assert.False(ServiceManager.JournalStreamIs(stream, otherLink));
        Assert.False(ServiceManager.JournalStreamIs(null, link));
        Assert.False(ServiceManager.JournalStreamIs("garbage", link));
        var file = Path.GetTempFileName();
        try
        {
            using var fs = File.OpenRead(file);
            Assert.False(ServiceManager.JournalStreamIs(stream, $"/proc/self/fd/{fs.SafeFileHandle.DangerousGetHandle()}"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData(LogEventLevel.Fatal, "<3>", "error")]
    [InlineData(LogEventLevel.Error, "<4>", "critical")]
    [InlineData(LogEventLevel.Warning, "<4>", "warning")]
    [InlineData(LogEventLevel.Information, "<6>", "info")]
    [InlineData(LogEventLevel.Debug, "<7>", "debug")]
    public void On_the_journal_each_line_starts_with_its_priority(LogEventLevel level, string priority, string glibLevel)
    {
        var logEvent = new LogEvent(DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123), level, null,
            new MessageTemplateParser().Parse("channel failed"), []);
        var journal = new StringWriter();
        new QemuLogFormat(journalPriority: true).Format(logEvent, journal);
        var plain = new StringWriter();
        new QemuLogFormat().Format(logEvent, plain);

        Assert.Equal($"1700000000.123000: {glibLevel}: channel failed\n", plain.ToString());
        Assert.Equal(priority + plain, journal.ToString());
    }
}
