using System.Buffers;

namespace Agent.Protocol.Json;

/// <summary>Bytes held in pieces (an exec capture's chunks) as one sequence, with no copy.</summary>
public static class ByteSequence
{
    public static ReadOnlySequence<byte> Of(IEnumerable<ReadOnlyMemory<byte>> pieces)
    {
        Piece? first = null, last = null;
        foreach (var memory in pieces)
            last = last is null ? first = new Piece(memory, 0) : last.Append(memory);
        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Piece : ReadOnlySequenceSegment<byte>
    {
        public Piece(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Piece Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Piece(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
