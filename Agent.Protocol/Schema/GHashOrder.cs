namespace Agent.Protocol.Schema;

/// <summary>
/// The iteration order of a glib GHashTable keyed by g_str_hash, which qemu's input visitor
/// uses to remember the members of an object it has not visited yet: the first key it yields is
/// the one named in "Parameter 'x' is unexpected". Reproduces open addressing with quadratic
/// probing, tombstones on removal, and the in-place resize of glib 2.60+.
/// </summary>
internal sealed class GHashOrder
{
    private const uint Unused = 0, Tombstone = 1;
    private const int MinShift = 3;
    private static readonly uint[] PrimeMod =
    [
        1, 2, 3, 7, 13, 31, 61, 127, 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071,
        262139, 524287, 1048573, 2097143, 4194301, 8388593, 16777213, 33554393, 67108859, 134217689,
        268435399, 536870909, 1073741789, 2147483647,
    ];

    private uint[] _hashes;
    private string?[] _keys;
    private int _size, _nnodes, _noccupied;
    private uint _mod, _mask;

    public GHashOrder()
    {
        SetShift(MinShift);
        _hashes = new uint[_size];
        _keys = new string?[_size];
    }

    public void Add(string key)
    {
        uint hash = Hash(key);
        int index = Lookup(key, hash);
        if (_hashes[index] > Tombstone) return;
        bool wasUnused = _hashes[index] == Unused;
        _hashes[index] = hash;
        _keys[index] = key;
        _nnodes++;
        if (wasUnused)
        {
            _noccupied++;
            MaybeResize();
        }
    }

    public void Remove(string key)
    {
        uint hash = Hash(key);
        int index = Lookup(key, hash);
        if (_hashes[index] <= Tombstone) return;
        _hashes[index] = Tombstone;
        _keys[index] = null;
        _nnodes--;
        MaybeResize();
    }

    public string? First()
    {
        for (int i = 0; i < _size; i++)
            if (_hashes[i] > Tombstone) return _keys[i];
        return null;
    }

    // g_str_hash: djb2 over the bytes as signed chars.
    private static uint Hash(string key)
    {
        uint h = 5381;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(key))
        {
            // qemu holds U+0000 as C0 80 (modified UTF-8)
            if (b == 0)
            {
                h = unchecked((h << 5) + h + (uint)(sbyte)0xC0);
                h = unchecked((h << 5) + h + (uint)(sbyte)0x80);
            }
            else
            {
                h = unchecked((h << 5) + h + (uint)(sbyte)b);
            }
        }
        return h > Tombstone ? h : 2;
    }

    private int ToIndex(uint hash) => (int)(unchecked(hash * 11) % _mod);

    private int Lookup(string key, uint hash)
    {
        int index = ToIndex(hash);
        int firstTombstone = -1;
        uint step = 0;
        while (_hashes[index] != Unused)
        {
            if (_hashes[index] == hash && _keys[index] == key) return index;
            if (_hashes[index] == Tombstone && firstTombstone < 0) firstTombstone = index;
            step++;
            index = (int)((index + step) & _mask);
        }
        return firstTombstone >= 0 ? firstTombstone : index;
    }

    private void SetShift(int shift)
    {
        _size = 1 << shift;
        _mod = PrimeMod[shift];
        _mask = (uint)_size - 1;
    }

    private void MaybeResize()
    {
        if ((_size > _nnodes * 4 && _size > 1 << MinShift) || _size <= _noccupied + _noccupied / 16)
            Resize();
    }

    private void Resize()
    {
        int oldSize = _size;
        int n = (int)(_nnodes * 1.333);
        int shift = 0;
        while (n != 0)
        {
            shift++;
            n >>= 1;
        }
        SetShift(Math.Max(shift, MinShift));
        if (_size > oldSize)
        {
            Array.Resize(ref _hashes, _size);
            Array.Resize(ref _keys, _size);
        }
        var relocated = new bool[Math.Max(_size, oldSize)];

        for (int i = 0; i < oldSize; i++)
        {
            uint nodeHash = _hashes[i];
            if (nodeHash <= Tombstone)
            {
                _hashes[i] = Unused;
                continue;
            }
            if (relocated[i]) continue;

            _hashes[i] = Unused;
            string? key = _keys[i];
            _keys[i] = null;
            while (true)
            {
                int index = ToIndex(nodeHash);
                uint step = 0;
                while (relocated[index])
                {
                    step++;
                    index = (int)((index + step) & _mask);
                }
                relocated[index] = true;
                uint replaced = _hashes[index];
                _hashes[index] = nodeHash;
                if (replaced <= Tombstone)
                {
                    _keys[index] = key;
                    break;
                }
                nodeHash = replaced;
                (key, _keys[index]) = (_keys[index], key);
            }
        }

        if (_size < oldSize)
        {
            Array.Resize(ref _hashes, _size);
            Array.Resize(ref _keys, _size);
        }
        _noccupied = _nnodes;
    }
}
