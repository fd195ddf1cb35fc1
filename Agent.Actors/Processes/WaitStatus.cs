namespace Agent.Actors.Processes;

/// <summary>Decodes the raw status of waitpid (glibc's W* macros).</summary>
internal static class WaitStatus
{
    public static ChildExited Decode(int pid, int status)
    {
        var termSig = status & 0x7f;
        return termSig == 0
            ? new ChildExited(pid, (status >> 8) & 0xff, null, false)
            : new ChildExited(pid, null, termSig, (status & 0x80) != 0);
    }
}
