using System.Net.Sockets;
using System.Text;
using Agent.Actors.Channel;
using Agent.Actors.Platform;

namespace Agent.Tests.Platform;

/// <summary>The plain-descriptor sockets of the listening channels, systemd notifications and syslog (Native.Sockets.cs).</summary>
public sealed class NativeSocketsSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("actoragent-sock-").FullName;

    [Fact]
    public void A_unix_address_is_the_family_then_the_path_and_its_nul()
    {
        Assert.Equal([1, 0, (byte)'/', (byte)'s', 0], Native.UnixAddress("/s"));
    }

    [Fact]
    public void An_abstract_unix_address_is_counted_by_its_length_without_a_nul()
    {
        Assert.Equal([1, 0, 0, (byte)'n'], Native.UnixAddress("\0n"));
    }

    [Fact]
    public void A_vsock_address_is_a_little_endian_sockaddr_vm()
    {
        Assert.Equal([40, 0, 0, 0, 0x78, 0x56, 0x34, 0x12, 3, 0, 0, 0, 0, 0, 0, 0], VsockAddress.Parse("3:305419896"));
    }

    [Fact]
    public void A_vsock_address_that_is_not_cid_colon_port_is_refused_with_its_text()
    {
        var ex = Assert.Throws<FormatException>(() => VsockAddress.Parse("3"));
        Assert.Equal("invalid vsock address '3': expected <cid>:<port>", ex.Message);
    }

    [Fact]
    public void A_listening_socket_accepts_a_client_and_carries_bytes_both_ways()
    {
        var path = Path.Combine(_dir, "sock");
        var listener = Native.ListenOn(Native.UnixAddress(path), 1, path);
        try
        {
            // Non-blocking: nothing to accept yet.
            Assert.Equal(-1, Native.Accept(listener, out var errno));
            Assert.Equal(Native.EAGAIN, errno);

            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(path));
            var accepted = Native.Accept(listener, out _);
            Assert.True(accepted >= 0);
            try
            {
                client.Send("ping"u8);
                var buffer = new byte[16];
                int n;
                while ((n = Native.Receive(accepted, buffer, out errno)) < 0 && errno == Native.EAGAIN) Thread.Sleep(1);
                Assert.Equal("ping", Encoding.ASCII.GetString(buffer, 0, n));

                Assert.Equal(4, Native.Send(accepted, "pong"u8, out _));
                Assert.Equal(4, client.Receive(buffer));
                Assert.Equal("pong", Encoding.ASCII.GetString(buffer, 0, 4));

                client.Shutdown(SocketShutdown.Send);
                while ((n = Native.Receive(accepted, buffer, out errno)) < 0 && errno == Native.EAGAIN) Thread.Sleep(1);
                Assert.Equal(0, n);
            }
            finally
            {
                Native.Close(accepted);
            }
        }
        finally
        {
            Native.Close(listener);
        }
    }

    [Fact]
    public void Listening_on_a_path_in_a_missing_folder_fails_with_the_errno_text_and_the_path()
    {
        var path = Path.Combine(_dir, "absent", "sock");
        var ex = Assert.Throws<IOException>(() => Native.ListenOn(Native.UnixAddress(path), 1, path));
        Assert.Equal($"No such file or directory {path}", ex.Message);
    }

    [Fact]
    public void A_datagram_goes_out_through_a_connected_socket_and_through_sendto()
    {
        var path = Path.Combine(_dir, "dgram");
        using var server = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        server.Bind(new UnixDomainSocketEndPoint(path));
        var buffer = new byte[64];

        var connected = Native.ConnectTo(Native.UnixAddress(path), Native.SOCK_DGRAM);
        try
        {
            Assert.Equal(5, Native.Send(connected, "first"u8, out _));
            Assert.Equal("first", Encoding.ASCII.GetString(buffer, 0, server.Receive(buffer)));
        }
        finally
        {
            Native.Close(connected);
        }

        var unconnected = Native.NewSocket(Native.AF_UNIX, Native.SOCK_DGRAM);
        try
        {
            Assert.True(Native.SendTo(unconnected, "READY=1"u8, Native.UnixAddress(path)));
            Assert.Equal("READY=1", Encoding.ASCII.GetString(buffer, 0, server.Receive(buffer)));
        }
        finally
        {
            Native.Close(unconnected);
        }
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
