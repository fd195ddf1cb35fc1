using System.Reflection;

namespace Agent.Host;

/// <summary>Which build this is: -V prints it, the start-up log line names it.</summary>
public static class Identity
{
    public const string Program = "ActorAgent";

    private static readonly string Informational =
        typeof(Identity).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>Agent.Host.csproj's Version.</summary>
    public static string Version => Informational.Split('+')[0];

    /// <summary>The git commit the SDK's source-control information appends to the informational version ("+sha").</summary>
    public static string Commit
    {
        get
        {
            var plus = Informational.IndexOf('+');
            return plus < 0 ? "unknown" : Informational[(plus + 1)..Math.Min(Informational.Length, plus + 13)];
        }
    }
}
