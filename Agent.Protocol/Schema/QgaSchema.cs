namespace Agent.Protocol.Schema;

/// <summary>
/// The qga command table in HEAD schema order (Linux build: 43 commands), with argument types,
/// success-response and the freeze allow-list.
/// </summary>
public static class QgaSchema
{
    public static IReadOnlyList<CommandSchema> Commands => throw new NotImplementedException();

    public static CommandSchema? Find(string name) => throw new NotImplementedException();
}
