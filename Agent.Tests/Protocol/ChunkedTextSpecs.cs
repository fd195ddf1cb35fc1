using System.Buffers;
using System.Runtime.CompilerServices;
using Agent.Protocol.Envelope;
using Agent.Protocol.Json;

namespace Agent.Tests.Protocol;

/// <summary>
/// A long reply line written in chunks (Replies.ChunkedLine) is byte for byte the line built whole
/// (Replies.Line), whatever the data's length, its pieces and the chunk sizes.
/// </summary>
public class ChunkedTextSpecs
{
    private static byte[] Data(int length, int seed)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>The data cut into pieces of the given sizes, cycled (an exec capture's uneven reads).</summary>
    private static ReadOnlySequence<byte> InPieces(byte[] data, int[] sizes)
    {
        var pieces = new List<ReadOnlyMemory<byte>>();
        for (int at = 0, k = 0; at < data.Length; k++)
        {
            var n = Math.Min(sizes[k % sizes.Length], data.Length - at);
            pieces.Add(data.AsMemory(at, n));
            at += n;
        }
        return ByteSequence.Of(pieces);
    }

    /// <summary>Writes the whole text through one cursor, in buffers of the given sizes, cycled.</summary>
    private static byte[] WriteInChunks(ChunkedText text, int[] chunkSizes)
    {
        var cursor = text.Start();
        var output = new List<byte>();
        for (var k = 0; !cursor.IsDone; k++)
        {
            var buffer = new byte[chunkSizes[k % chunkSizes.Length]];
            var n = cursor.Fill(buffer);
            Assert.Equal(Math.Min(buffer.Length, cursor.Length - (output.Count)), n);
            output.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        Assert.Equal(0, cursor.Fill(new byte[16]));
        return output.ToArray();
    }

    private static JsonObject ExecStatus(ReadOnlySequence<byte> stdout, ReadOnlySequence<byte> stderr) =>
        Replies.Return(JsonObject.Of(
            ("exited", JsonBool.True),
            ("exitcode", new JsonInt(0)),
            ("out-data", JsonString.Base64Of(stdout)),
            ("err-data", JsonString.Base64Of(stderr)),
            ("out-truncated", JsonBool.False),
            ("err-truncated", JsonBool.False)), new JsonString("an \"id\" \u00E9"));

    public static TheoryData<int, int[], int[]> Cases()
    {
        var data = new TheoryData<int, int[], int[]>();
        // Around the threshold, every length mod 3, around a 64 KiB chunk's 49,152 data bytes.
        int[] lengths = [0, 1, 2, 3, 4, 5, 49_151, 49_152, 49_153, 49_154, 65_534, 65_535, 65_536, 65_537, 200_003];
        int[][] pieces = [[int.MaxValue], [1], [2, 5, 7], [4096, 1, 3, 65_537], [49_152]];
        int[][] chunks = [[65_536], [1], [3, 4, 5], [7, 4093, 65_536, 2]];
        var k = 0;
        foreach (var length in lengths)
            foreach (var piece in pieces)
            {
                if (piece.Length == 1 && piece[0] <= 2 && length > 70_000) continue; // a piece per byte: slow, covered below
                data.Add(length, piece, chunks[k++ % chunks.Length]);
            }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void A_line_written_in_chunks_is_the_line_built_whole(int length, int[] pieceSizes, int[] chunkSizes)
    {
        var stdout = Data(length, length);
        var stderr = Data(length % 7, length + 1);
        var reply = ExecStatus(InPieces(stdout, pieceSizes), InPieces(stderr, [1, 2]));
        foreach (var delimited in new[] { false, true })
        {
            var whole = Replies.Line(reply, delimited);
            var chunked = Replies.ChunkedLine(reply, delimited);
            Assert.Equal(whole.Length, chunked.Length);
            Assert.Equal(whole, WriteInChunks(chunked, chunkSizes));
        }
        // Independent of the writer's own base64: the text holds .NET's encoding of the data.
        var text = System.Text.Encoding.ASCII.GetString(WriteInChunks(Replies.ChunkedLine(reply), [65_536]));
        Assert.Contains($"\"out-data\": \"{Convert.ToBase64String(stdout)}\"", text);
        Assert.Contains($"\"err-data\": \"{Convert.ToBase64String(stderr)}\"", text);
        Assert.EndsWith("}\n", text);
    }

    [Fact]
    public void A_list_with_no_base64_in_it_is_written_in_chunks_too()
    {
        var blocks = Enumerable.Range(0, 5000).Select(i => (JsonValue)JsonObject.Of(
            ("phys-index", new JsonInt(i)), ("online", JsonBool.Of(i % 2 == 0)), ("can-offline", JsonBool.True))).ToList();
        var reply = Replies.Return(new JsonArray(blocks), new JsonInt(7));
        Assert.True(JsonWriter.Measure(reply) > Replies.ChunkedAbove);
        Assert.Equal(Replies.Line(reply), WriteInChunks(Replies.ChunkedLine(reply), [65_536, 5]));
    }

    [Fact]
    public void Lines_longer_than_the_threshold_and_only_those_come_as_chunks()
    {
        var id = new JsonInt(1);
        var frame = Replies.Line(Replies.Return(JsonString.Base64Of(ReadOnlyMemory<byte>.Empty), id)).Length;
        // Base64 text is 4 characters per 3 bytes: a line of exactly the threshold, and one group more.
        var atThreshold = (Replies.ChunkedAbove - frame) / 4 * 3;
        var fits = Replies.Return(JsonString.Base64Of(new byte[atThreshold]), id);
        var over = Replies.Return(JsonString.Base64Of(new byte[atThreshold + 1]), id);
        Assert.Equal(Replies.ChunkedAbove - (Replies.ChunkedAbove - frame) % 4, Replies.Line(fits).Length);

        var (line, chunked) = Replies.ChunkedLineWithin(fits, 10_000_000);
        Assert.Null(chunked);
        Assert.Equal(Replies.Line(fits), line);
        (line, chunked) = Replies.ChunkedLineWithin(over, 10_000_000);
        Assert.Null(line);
        Assert.Equal(Replies.Line(over), WriteInChunks(chunked!, [65_536]));
    }

    [Fact]
    public void A_line_over_max_reply_bytes_is_still_the_error_that_says_so()
    {
        var reply = Replies.Return(JsonString.Base64Of(new byte[300_000]), new JsonInt(3));
        var (line, chunked) = Replies.ChunkedLineWithin(reply, 200_000);
        Assert.Null(chunked);
        Assert.Equal(Replies.LineWithin(reply, 200_000), line);
        Assert.Contains("max-reply-bytes (200000)", System.Text.Encoding.ASCII.GetString(line!));
    }

    [Fact]
    public void The_cursor_lets_go_of_the_data_after_its_last_byte_and_when_released()
    {
        var (written, writtenData) = CursorOverData(300_000);
        var buffer = new byte[65_536];
        while (!written.IsDone) written.Fill(buffer);
        var (dropped, droppedData) = CursorOverData(300_000);
        dropped.Fill(buffer);
        var (kept, keptData) = CursorOverData(300_000);
        kept.Fill(buffer);
        dropped.Release();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        Assert.False(writtenData.IsAlive);
        Assert.False(droppedData.IsAlive);
        Assert.True(keptData.IsAlive); // the check can fail: a cursor mid-line holds its data
        Assert.Equal(0, dropped.Fill(buffer));
        GC.KeepAlive(kept);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (ChunkedText.Cursor, WeakReference) CursorOverData(int length)
    {
        var data = Data(length, 5);
        var text = Replies.ChunkedLine(Replies.Return(JsonString.Base64Of(InPieces(data, [1000, 333])), null));
        return (text.Start(), new WeakReference(data));
    }
}
