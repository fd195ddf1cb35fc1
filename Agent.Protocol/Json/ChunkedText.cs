using System.Buffers;
using System.Buffers.Text;
using Agent.Protocol.Encoding;

namespace Agent.Protocol.Json;

/// <summary>
/// Writer output of known length that is produced a chunk at a time into the caller's buffer: runs of
/// bytes the writer wrote, and base64 text that is encoded from its data only when that part of the
/// text is asked for. A long reply line (an exec capture, a file read) then never exists whole: the
/// channel encodes the next chunk into one reused buffer as the socket drains (bench/README.md,
/// "Large replies streamed"). Immutable; <see cref="Start"/> gives a cursor that writes it once.
/// The data must stay as it is until then: a capture's pieces are never reused or pooled.
/// </summary>
public sealed class ChunkedText
{
    private readonly Part[] _parts;

    private ChunkedText(Part[] parts, long length)
    {
        _parts = parts;
        Length = length;
    }

    /// <summary>Bytes of the whole text.</summary>
    public long Length { get; }

    /// <summary>A cursor at the start of the text.</summary>
    public Cursor Start() => new(_parts, Length);

    /// <summary>Bytes copied as they are, or (<paramref name="IsBase64"/>) data whose padded base64 text is written.</summary>
    internal readonly record struct Part(ReadOnlySequence<byte> Bytes, bool IsBase64)
    {
        public long TextLength => IsBase64 ? Base64Text.Length(Bytes.Length) : Bytes.Length;
    }

    /// <summary>Writes the text in order, as much as each buffer holds; drops the data when done or released.</summary>
    public sealed class Cursor
    {
        private Part[] _parts;
        private int _part = -1;
        private ReadOnlySequence<byte> _rest; // of the current part, not yet written (base64: not yet encoded)
        private bool _restIsBase64;
        // One base64 group encoded for a buffer with less than its 4 bytes of room left.
        private readonly byte[] _group = new byte[4];
        private int _groupAt = 4;

        internal Cursor(Part[] parts, long length)
        {
            _parts = parts;
            Length = length;
        }

        public long Length { get; }

        /// <summary>Bytes written so far.</summary>
        public long Written { get; private set; }

        public bool IsDone => Written == Length;

        /// <summary>
        /// Writes the next <c>min(buffer.Length, Length - Written)</c> bytes of the text into
        /// <paramref name="buffer"/> and returns how many. After the last byte the data is let go.
        /// </summary>
        public int Fill(Span<byte> buffer)
        {
            var n = 0;
            Span<byte> group = stackalloc byte[3];
            while (n < buffer.Length)
            {
                if (_groupAt < 4)
                {
                    var copied = Math.Min(4 - _groupAt, buffer.Length - n);
                    _group.AsSpan(_groupAt, copied).CopyTo(buffer[n..]);
                    _groupAt += copied;
                    n += copied;
                    continue;
                }
                if (_rest.IsEmpty)
                {
                    if (++_part >= _parts.Length) break;
                    (_rest, _restIsBase64) = (_parts[_part].Bytes, _parts[_part].IsBase64);
                    continue;
                }
                var room = buffer[n..];
                var piece = _rest.FirstSpan;
                if (!_restIsBase64)
                {
                    var take = Math.Min(piece.Length, room.Length);
                    piece[..take].CopyTo(room);
                    _rest = _rest.Slice(take);
                    n += take;
                    continue;
                }
                // Whole groups of three bytes from the current piece; the last piece of the data may end
                // in one or two bytes, which are padded.
                var isLast = piece.Length == _rest.Length;
                var bytes = isLast && Base64Text.Length(piece.Length) <= room.Length
                    ? piece.Length
                    : Math.Min(piece.Length / 3, room.Length / 4) * 3;
                if (bytes > 0)
                {
                    Base64.EncodeToUtf8(piece[..bytes], room, out _, out var written, isFinalBlock: true);
                    _rest = _rest.Slice(bytes);
                    n += written;
                    continue;
                }
                // A group that spans pieces, or a buffer with less room than one group.
                var groupBytes = (int)Math.Min(3, _rest.Length);
                _rest.Slice(0, groupBytes).CopyTo(group);
                Base64.EncodeToUtf8(group[..groupBytes], _group, out _, out _, isFinalBlock: true);
                _rest = _rest.Slice(groupBytes);
                _groupAt = 0;
            }
            Written += n;
            if (IsDone) Release();
            return n;
        }

        /// <summary>Lets go of the data (written, or dropped with its client); nothing more is written.</summary>
        public void Release()
        {
            _parts = [];
            _part = 0;
            _rest = default;
            _groupAt = 4;
        }
    }

    /// <summary>
    /// The writer's output collected as parts: what it writes is kept in small arrays, and base64 data
    /// handed to <see cref="AddBase64"/> is kept as it is (<see cref="JsonWriter"/> hands it over).
    /// </summary>
    public sealed class Builder : IBufferWriter<byte>
    {
        private readonly List<Part> _parts = new();
        private long _length;
        private byte[] _piece = [];
        private int _start; // of the run in _piece not yet made a part
        private int _at;

        public void Advance(int count)
        {
            _at += count;
            _length += count;
        }

        public Memory<byte> GetMemory(int sizeHint = 0)
        {
            sizeHint = Math.Max(sizeHint, 1);
            if (_piece.Length - _at < sizeHint)
            {
                EndRun();
                // The text around base64 data is a few hundred bytes; a long list grows in pieces of at
                // most 64 KiB, none on the large-object heap.
                _piece = new byte[Math.Max(sizeHint, Math.Clamp(_piece.Length * 2, 256, 64 * 1024))];
                _start = _at = 0;
            }
            return _piece.AsMemory(_at);
        }

        public Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

        /// <summary>Appends the padded base64 text of <paramref name="data"/>, to be encoded when written.</summary>
        public void AddBase64(in ReadOnlySequence<byte> data)
        {
            EndRun();
            _parts.Add(new Part(data, IsBase64: true));
            _length += Base64Text.Length(data.Length);
        }

        public ChunkedText Build()
        {
            EndRun();
            return new ChunkedText(_parts.ToArray(), _length);
        }

        private void EndRun()
        {
            if (_at > _start) _parts.Add(new Part(new ReadOnlySequence<byte>(_piece, _start, _at - _start), IsBase64: false));
            _start = _at;
        }
    }
}
