using System.Buffers.Binary;
using System.Text;

namespace Agent.Actors.Platform;

/// <summary>One utmp record's fields that guest-get-users uses.</summary>
public sealed record UtmpRecord(short Type, string User, int Seconds, int Microseconds);

/// <summary>
/// glibc's struct utmp on 64-bit Linux (384 bytes): ut_type at 0, ut_user[32] at 44, ut_tv as two
/// int32 (sec, usec) at 340. The file is a flat array of these records.
/// </summary>
public static class Utmp
{
    public const int RecordSize = 384;
    public const short UserProcess = 7;
    public const int TypeOffset = 0;
    public const int PidOffset = 4;
    public const int LineOffset = 8;
    public const int UserOffset = 44;
    public const int UserLength = 32;
    public const int HostOffset = 76;
    public const int TimeOffset = 340;

    /// <summary>Every complete record of the file; a missing file has none (getutxent returns NULL at once).</summary>
    public static IReadOnlyList<UtmpRecord> Read(string path)
    {
        byte[] data;
        try { data = File.ReadAllBytes(path); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { return []; }
        var records = new List<UtmpRecord>(data.Length / RecordSize);
        for (var at = 0; at + RecordSize <= data.Length; at += RecordSize)
        {
            var r = data.AsSpan(at, RecordSize);
            var user = r.Slice(UserOffset, UserLength);
            var end = user.IndexOf((byte)0);
            records.Add(new UtmpRecord(
                BinaryPrimitives.ReadInt16LittleEndian(r[TypeOffset..]),
                Encoding.UTF8.GetString(end < 0 ? user : user[..end]),
                BinaryPrimitives.ReadInt32LittleEndian(r[TimeOffset..]),
                BinaryPrimitives.ReadInt32LittleEndian(r[(TimeOffset + 4)..])));
        }
        return records;
    }
}
