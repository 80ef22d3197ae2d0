using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LlamaCpp.Gguf;

/// <summary>A GGUF file is malformed or does not hold what is needed; the message says what and where.</summary>
public sealed class GgufFormatException : Exception
{
    /// <summary>Creates the exception.</summary>
    public GgufFormatException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public GgufFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public GgufFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>The value types of GGUF metadata.</summary>
public enum GgufValueType
{
#pragma warning disable CS1591, CA1720 // The names are the format's own.
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
#pragma warning restore CS1591, CA1720
}

/// <summary>
/// One metadata value. Scalars and strings are read; arrays only by element type and count (a vocabulary has
/// 200,000 strings, and nothing here needs them).
/// </summary>
/// <param name="Type">The value's type.</param>
/// <param name="Value">A long, double, bool or string; null for arrays.</param>
/// <param name="ElementType">For arrays, the type of the elements.</param>
/// <param name="Count">For arrays, how many elements.</param>
public sealed record GgufValue(GgufValueType Type, object? Value, GgufValueType? ElementType = null, long Count = 0);

/// <summary>A tensor's description in the file.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Dimensions">Its shape, fastest dimension first, as ggml counts.</param>
/// <param name="Type">Its ggml type.</param>
/// <param name="Offset">Where its data starts, from the start of the data section.</param>
/// <param name="Size">How many bytes its data takes.</param>
public sealed record GgufTensorInfo(string Name, long[] Dimensions, int Type, long Offset, long Size);

/// <summary>
/// Reads and validates a GGUF file's structure without loading tensor data: magic, version, metadata, the tensor
/// table, and that every tensor's data lies inside the file. llama.cpp asserts on such damage and takes the process
/// with it, so the agent checks here first and turns damage into a clear error.
/// </summary>
public sealed class GgufFile
{
    /// <summary>The GGUF magic, "GGUF" read as a little-endian integer.</summary>
    public const uint Magic = 0x46554747;

    private const int DefaultAlignment = 32;
    private const int MaxDimensions = 4;

    // Bounds that no sane file exceeds, checked before allocating anything a corrupt count asks for.
    private const long MaxEntries = 1 << 24;
    private const long MaxStringBytes = 1 << 24;

    private GgufFile(string path, uint version, Dictionary<string, GgufValue> metadata, List<GgufTensorInfo> tensors, long dataOffset, long length, int alignment)
    {
        Path = path;
        Version = version;
        Metadata = metadata;
        Tensors = tensors;
        DataOffset = dataOffset;
        Length = length;
        Alignment = alignment;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The format version: 2 or 3.</summary>
    public uint Version { get; }

    /// <summary>The metadata by key.</summary>
    public IReadOnlyDictionary<string, GgufValue> Metadata { get; }

    /// <summary>The tensors, in file order.</summary>
    public IReadOnlyList<GgufTensorInfo> Tensors { get; }

    /// <summary>Where tensor data starts.</summary>
    public long DataOffset { get; }

    /// <summary>The file's length.</summary>
    public long Length { get; }

    /// <summary>The alignment of tensor data.</summary>
    public int Alignment { get; }

    /// <summary>The model architecture, such as gpt-oss.</summary>
    public string? Architecture => GetString("general.architecture");

    /// <summary>Reads and validates a file.</summary>
    /// <remarks>
    /// Reads the header alone (metadata and tensor table: a few MB for a 200,000-token vocabulary, whatever the
    /// weights weigh) in large blocks, and checks the tensor data against the file's length without reading it.
    /// </remarks>
    /// <exception cref="GgufFormatException">The file is not a valid GGUF; the message says where it breaks.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static GgufFile Read(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var reader = new Reader(handle, path);
        if (reader.Length < 24)
        {
            throw new GgufFormatException($"{path} is {reader.Length} bytes: too short to be a GGUF file.");
        }

        uint magic = reader.UInt32("magic");
        if (magic != Magic)
        {
            throw new GgufFormatException($"{path} is not a GGUF file (it starts with 0x{magic:X8}, not \"GGUF\").");
        }

        uint version = reader.UInt32("version");
        if (version is not (2 or 3))
        {
            throw new GgufFormatException($"{path} is GGUF version {version}; versions 2 and 3 are supported.");
        }

        long tensorCount = reader.Count("tensor count");
        long metadataCount = reader.Count("metadata count");
        var metadata = new Dictionary<string, GgufValue>(StringComparer.Ordinal);
        for (long i = 0; i < metadataCount; i++)
        {
            string key = reader.String("metadata key", i);
            GgufValue value = reader.Value(key);
            if (!metadata.TryAdd(key, value))
            {
                throw new GgufFormatException($"{path}: the metadata key {key} appears twice.");
            }
        }

        int alignment = DefaultAlignment;
        if (metadata.TryGetValue("general.alignment", out GgufValue? a))
        {
            alignment = a.Value is long align && align > 0 && align <= 1 << 20 && (align & (align - 1)) == 0
                ? (int)align
                : throw new GgufFormatException($"{path}: general.alignment must be a power of two, not {a.Value}.");
        }

        var tensors = new List<GgufTensorInfo>((int)Math.Min(tensorCount, 1 << 16));
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (long i = 0; i < tensorCount; i++)
        {
            string name = reader.String("tensor", i, " name");
            if (!names.Add(name))
            {
                throw new GgufFormatException($"{path}: the tensor {name} appears twice.");
            }

            uint dimensionCount = reader.UInt32($"tensor {name} dimension count");
            if (dimensionCount is 0 or > MaxDimensions)
            {
                throw new GgufFormatException($"{path}: tensor {name} has {dimensionCount} dimensions; 1 to {MaxDimensions} are valid.");
            }

            var dimensions = new long[dimensionCount];
            long elements = 1;
            for (int d = 0; d < dimensionCount; d++)
            {
                ulong size = reader.UInt64($"tensor {name} dimension {d}");
                if (size is 0 or > long.MaxValue / 2 || (elements = Multiply(elements, (long)size, path, name)) < 0)
                {
                    throw new GgufFormatException($"{path}: tensor {name} has an invalid dimension {size}.");
                }

                dimensions[d] = (long)size;
            }

            int type = (int)reader.UInt32($"tensor {name} type");
            if (!GgmlType.TryGet(type, out string typeName, out int blockSize, out int blockBytes))
            {
                throw new GgufFormatException($"{path}: tensor {name} has the unknown type {type}.");
            }

            if (dimensions[0] % blockSize != 0)
            {
                throw new GgufFormatException($"{path}: tensor {name} ({typeName}) has {dimensions[0]} columns, not a multiple of its block size {blockSize}.");
            }

            ulong offset = reader.UInt64($"tensor {name} offset");
            if (offset % (ulong)alignment != 0 || offset > long.MaxValue / 2)
            {
                throw new GgufFormatException($"{path}: tensor {name} starts at {offset}, not a multiple of the alignment {alignment}.");
            }

            long rows = elements / dimensions[0];
            long size64 = Multiply(dimensions[0] / blockSize * blockBytes, rows, path, name);
            tensors.Add(new GgufTensorInfo(name, dimensions, type, (long)offset, size64));
        }

        long dataOffset = AlignUp(reader.Position, alignment);
        foreach (GgufTensorInfo tensor in tensors)
        {
            long end = dataOffset + tensor.Offset + tensor.Size;
            if (end > reader.Length || end < 0)
            {
                throw new GgufFormatException(
                    $"{path} is truncated or corrupt: tensor {tensor.Name} needs bytes {dataOffset + tensor.Offset} to {end}, but the file has {reader.Length}.");
            }
        }

        return new GgufFile(path, version, metadata, tensors, dataOffset, reader.Length, alignment);
    }

    /// <summary>A string value, or null when the key is missing or not a string.</summary>
    public string? GetString(string key) => Metadata.TryGetValue(key, out GgufValue? v) ? v.Value as string : null;

    /// <summary>An integer value, or null when the key is missing or not an integer.</summary>
    public long? GetInteger(string key) => Metadata.TryGetValue(key, out GgufValue? v) && v.Value is long l ? l : null;

    /// <summary>A floating-point value, or null when the key is missing or not a number.</summary>
    public double? GetFloat(string key) => Metadata.TryGetValue(key, out GgufValue? v) ? v.Value switch { double d => d, long l => l, _ => null } : null;

    /// <summary>The element count of an array value, or null when the key is missing or not an array.</summary>
    public long? GetArrayLength(string key) => Metadata.TryGetValue(key, out GgufValue? v) && v.Type == GgufValueType.Array ? v.Count : null;

    private static long AlignUp(long value, int alignment) => (value + alignment - 1) / alignment * alignment;

    private static long Multiply(long a, long b, string path, string tensor)
    {
        try
        {
            return checked(a * b);
        }
        catch (OverflowException)
        {
            throw new GgufFormatException($"{path}: tensor {tensor} is impossibly large.");
        }
    }

    // Reads forward through the header in blocks of its own: a vocabulary is some 650,000 short strings (tokens and
    // merges), which one call per field through a FileStream made a second's work of.
    private sealed class Reader
    {
        private const int BlockSize = 1 << 20;

        private readonly SafeFileHandle _handle;
        private readonly string _path;
        private byte[] _block = new byte[BlockSize];

        // The file offset of _block[0], and the valid bytes from there; _next indexes the next unread byte.
        private long _blockOffset;
        private int _blockLength;
        private int _next;

        public Reader(SafeFileHandle handle, string path)
        {
            _handle = handle;
            _path = path;
            Length = RandomAccess.GetLength(handle);
        }

        public long Length { get; }

        /// <summary>The file offset of the next unread byte.</summary>
        public long Position => _blockOffset + _next;

        public uint UInt32(string what) => BitConverter.ToUInt32(Read(4, what));

        public ulong UInt64(string what) => BitConverter.ToUInt64(Read(8, what));

        public long Count(string what)
        {
            ulong count = UInt64(what);
            return count <= MaxEntries ? (long)count : throw new GgufFormatException($"{_path}: the {what} is {count}, which no valid file has.");
        }

        /// <summary>A string, named for errors by <paramref name="what"/>, <paramref name="index"/> and <paramref name="suffix"/>: formatted only on failure.</summary>
        public string String(string what, long index = -1, string suffix = "")
        {
            ulong length = ReadUInt64Or(what, index, suffix, " length");
            if (length > MaxStringBytes || (long)length > Length - Position)
            {
                throw new GgufFormatException($"{_path} is truncated or corrupt: {Name(what, index, suffix)} claims {length} bytes at offset {Position}.");
            }

            return Encoding.UTF8.GetString(Read((int)length, what));
        }

        public GgufValue Value(string key)
        {
            var type = (GgufValueType)UInt32($"type of {key}");
            if (type != GgufValueType.Array)
            {
                return new GgufValue(type, Scalar(type, key));
            }

            var elementType = (GgufValueType)UInt32($"element type of {key}");
            long count = Count($"element count of {key}");
            if (elementType is GgufValueType.Array || !Enum.IsDefined(elementType))
            {
                throw new GgufFormatException($"{_path}: {key} is an array of the unsupported type {(int)elementType}.");
            }

            long fixedSize = elementType switch
            {
                GgufValueType.UInt8 or GgufValueType.Int8 or GgufValueType.Bool => 1,
                GgufValueType.UInt16 or GgufValueType.Int16 => 2,
                GgufValueType.UInt32 or GgufValueType.Int32 or GgufValueType.Float32 => 4,
                GgufValueType.UInt64 or GgufValueType.Int64 or GgufValueType.Float64 => 8,
                _ => 0,
            };
            if (fixedSize > 0)
            {
                Skip(fixedSize * count, key);
            }
            else
            {
                for (long i = 0; i < count; i++)
                {
                    Skip((long)ReadUInt64Or(key, -1, "", " element length"), key);
                }
            }

            return new GgufValue(type, null, elementType, count);
        }

        private object Scalar(GgufValueType type, string key) => type switch
        {
            GgufValueType.UInt8 => (long)Read(1, key)[0],
            GgufValueType.Int8 => (long)(sbyte)Read(1, key)[0],
            GgufValueType.UInt16 => (long)BitConverter.ToUInt16(Read(2, key)),
            GgufValueType.Int16 => (long)BitConverter.ToInt16(Read(2, key)),
            GgufValueType.UInt32 => (long)UInt32(key),
            GgufValueType.Int32 => (long)BitConverter.ToInt32(Read(4, key)),
            GgufValueType.Float32 => (double)BitConverter.ToSingle(Read(4, key)),
            GgufValueType.Bool => Read(1, key)[0] switch
            {
                0 => false,
                1 => true,
                var b => throw new GgufFormatException($"{_path}: {key} is a bool of value {b}."),
            },
            GgufValueType.String => String(key),
            GgufValueType.UInt64 => UInt64(key) is var u && u <= long.MaxValue ? (long)u : throw new GgufFormatException($"{_path}: {key} is too large."),
            GgufValueType.Int64 => BitConverter.ToInt64(Read(8, key)),
            GgufValueType.Float64 => BitConverter.ToDouble(Read(8, key)),
            _ => throw new GgufFormatException($"{_path}: {key} has the unknown value type {(int)type}."),
        };

        private static string Name(string what, long index, string suffix) => index < 0 ? what + suffix : $"{what} {index}{suffix}";

        private ulong ReadUInt64Or(string what, long index, string suffix, string field)
        {
            if (_blockLength - _next >= 8)
            {
                ulong value = BitConverter.ToUInt64(_block, _next);
                _next += 8;
                return value;
            }

            return UInt64(Name(what, index, suffix) + field);
        }

        private void Skip(long size, string key)
        {
            if (size < 0 || size > Length - Position)
            {
                throw new GgufFormatException($"{_path} is truncated or corrupt: an element of {key} claims {size} bytes at offset {Position}.");
            }

            if (size <= _blockLength - _next)
            {
                _next += (int)size;
                return;
            }

            // Past this block: the next read starts a new one there.
            _blockOffset = Position + size;
            _blockLength = 0;
            _next = 0;
        }

        private ReadOnlySpan<byte> Read(int count, string what)
        {
            if (_blockLength - _next < count && !Fill(count))
            {
                throw new GgufFormatException($"{_path} is truncated: it ends inside the {what}.");
            }

            var span = new ReadOnlySpan<byte>(_block, _next, count);
            _next += count;
            return span;
        }

        // Makes at least count bytes available from _next, keeping the unread ones; false at the end of the file.
        private bool Fill(int count)
        {
            int left = _blockLength - _next;
            // Only a string can be longer than a block (up to MaxStringBytes): the block grows to hold it.
            byte[] block = count > _block.Length ? new byte[count] : _block;
            Buffer.BlockCopy(_block, _next, block, 0, left);
            _block = block;
            _blockOffset += _next;
            _next = 0;
            _blockLength = left;
            while (_blockLength < count)
            {
                int read = RandomAccess.Read(_handle, _block.AsSpan(_blockLength), _blockOffset + _blockLength);
                if (read == 0)
                {
                    return false;
                }

                _blockLength += read;
            }

            return true;
        }
    }
}
