using System.Buffers.Binary;
using System.Text;

namespace Agent.Actors.Audit;

/// <summary>
/// The fingerprint `ssh-keygen -l` prints for an authorized_keys line: "SHA256:" and the unpadded
/// base64 of the SHA-256 of the decoded key blob. The key itself never reaches an audit record.
/// </summary>
public static class SshKeyFingerprint
{
    /// <summary>Written instead of a fingerprint when the line holds no recognisable key.</summary>
    public const string Unrecognised = "unrecognised";

    /// <summary>
    /// The fingerprint of the key in <paramref name="line"/> ("[options] type base64 [comment]"), or
    /// <see cref="Unrecognised"/>. The key is the first pair of words where the second decodes to a blob
    /// whose leading string is the first word, so options with quoted spaces cannot mislead it.
    /// </summary>
    public static string Of(string line)
    {
        var words = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i + 1 < words.Length; i++)
            if (Blob(words[i], words[i + 1]) is { } blob)
                return "SHA256:" + Convert.ToBase64String(Sha256.Hash(blob)).TrimEnd('=');
        return Unrecognised;
    }

    private static byte[]? Blob(string type, string base64)
    {
        byte[] blob;
        try { blob = Convert.FromBase64String(base64); }
        catch (FormatException) { return null; }
        if (blob.Length < 4) return null;
        var length = BinaryPrimitives.ReadUInt32BigEndian(blob);
        if (length != (uint)Encoding.ASCII.GetByteCount(type) || length > (uint)blob.Length - 4) return null;
        return Encoding.ASCII.GetString(blob, 4, (int)length) == type ? blob : null;
    }
}
