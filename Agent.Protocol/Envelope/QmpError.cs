namespace Agent.Protocol.Envelope;

/// <summary>The two error classes qemu-ga emits.</summary>
public static class ErrorClass
{
    public const string GenericError = "GenericError";
    public const string CommandNotFound = "CommandNotFound";
}

/// <summary>An error reply's content: {"error": {"class": Class, "desc": Desc}}.</summary>
public sealed record QmpError(string Class, string Desc)
{
    public static QmpError Generic(string desc) => new(ErrorClass.GenericError, desc);
    public static QmpError NotFound(string desc) => new(ErrorClass.CommandNotFound, desc);
}
