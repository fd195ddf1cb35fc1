// What every command family uses: Akka, the JSON values it answers with, and the argument records
// (Agent.Protocol/Schema/Generated) by which it names its commands.
global using Agent.Protocol.Json;
global using Agent.Protocol.Schema;
global using Akka.Actor;
