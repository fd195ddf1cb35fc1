using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.Configuration;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// Usage: BareHosting SOCKET — answers every line read on SOCKET with the reply of one actor.
var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
builder.Services.AddAkka("bare", (akka, _) => akka
    .AddHocon(ConfigurationFactory.ParseString("akka.loglevel = ERROR"), HoconAddMode.Prepend)
    .WithActors((system, registry) => registry.Register<Pinger>(system.ActorOf(Props.Create(() => new Pinger()), "pinger"))));
// As Agent.Host does (Program.cs): the system without reading App.config (System.Configuration, OpenSSL).
builder.Services.AddSingleton(sp => ActorSystem.Create("bare", sp.GetRequiredService<AkkaConfigurationBuilder>().Configuration.Value));
using var host = builder.Build();
host.Start();
var pinger = host.Services.GetRequiredService<ActorRegistry>().Get<Pinger>();

using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
File.Delete(args[0]);
listener.Bind(new UnixDomainSocketEndPoint(args[0]));
listener.Listen();
_ = Task.Run(async () =>
{
    while (true)
    {
        var client = await listener.AcceptAsync();
        _ = Task.Run(async () =>
        {
            using var stream = new NetworkStream(client, ownsSocket: true);
            using var reader = new StreamReader(stream);
            while (await reader.ReadLineAsync() is { } line)
            {
                var reply = await pinger.Ask<string>(line);
                await stream.WriteAsync(Encoding.UTF8.GetBytes(reply + "\n"));
            }
        });
    }
});
host.WaitForShutdown();

internal sealed class Pinger : UntypedActor
{
    protected override void OnReceive(object message) => Sender.Tell("{\"return\": {}}");
}
