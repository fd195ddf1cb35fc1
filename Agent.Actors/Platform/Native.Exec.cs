using System.Runtime.InteropServices;

namespace Agent.Actors.Platform;

/// <summary>What guest-exec needs beyond spawning: execvp's PATH search over a replaced environment.</summary>
internal static partial class Native
{
    public const int X_OK = 1;
    public const int EACCES = 13;

    [LibraryImport("libc", EntryPoint = "access", SetLastError = true, StringMarshalling = StringMarshalling.Custom, StringMarshallingCustomType = typeof(OsStringMarshaller))]
    public static partial int Access(string path, int mode);
}
