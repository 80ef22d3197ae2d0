using System.Text;

namespace LlamaCpp.Gguf;

/// <summary>
/// Writes GGUF version 3 files: metadata, then the tensor table, then each tensor's data, aligned. Tensor data is
/// streamed from a callback, so a model of any size is written without holding it in memory.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
public sealed class GgufWriter
{
    private const int Alignment = 32;

    private readonly List<(string Key, Action<BinaryWriter> Write)> _metadata = [];
    private readonly List<Tensor> _tensors = [];

    /// <summary>Adds a string value.</summary>
    public GgufWriter Add(string key, string value) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.String);
        WriteString(w, value);
    });

    /// <summary>Adds an unsigned 32-bit value.</summary>
    public GgufWriter Add(string key, uint value) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.UInt32);
        w.Write(value);
    });

    /// <summary>Adds a signed 32-bit value.</summary>
    public GgufWriter Add(string key, int value) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.Int32);
        w.Write(value);
    });

    /// <summary>Adds a 32-bit float value.</summary>
    public GgufWriter Add(string key, float value) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.Float32);
        w.Write(value);
    });

    /// <summary>Adds a bool value.</summary>
    public GgufWriter Add(string key, bool value) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.Bool);
        w.Write((byte)(value ? 1 : 0));
    });

    /// <summary>Adds an array of strings.</summary>
    public GgufWriter Add(string key, IReadOnlyList<string> values) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.Array);
        w.Write((uint)GgufValueType.String);
        w.Write((ulong)values.Count);
        foreach (string value in values)
        {
            WriteString(w, value);
        }
    });

    /// <summary>Adds an array of signed 32-bit values.</summary>
    public GgufWriter Add(string key, IReadOnlyList<int> values) => AddValue(key, w =>
    {
        w.Write((uint)GgufValueType.Array);
        w.Write((uint)GgufValueType.Int32);
        w.Write((ulong)values.Count);
        foreach (int value in values)
        {
            w.Write(value);
        }
    });

    /// <summary>
    /// Adds a tensor; <paramref name="writeData"/> writes exactly its bytes when the file is written.
    /// </summary>
    /// <param name="name">Its name.</param>
    /// <param name="dimensions">Its shape, fastest dimension first.</param>
    /// <param name="type">Its ggml type (<see cref="GgmlType"/>).</param>
    /// <param name="writeData">Writes the data.</param>
    public GgufWriter AddTensor(string name, long[] dimensions, int type, Action<Stream> writeData)
    {
        ArgumentNullException.ThrowIfNull(dimensions);
        if (!GgmlType.TryGet(type, out _, out int blockSize, out int blockBytes) || dimensions.Length is 0 or > 4 || dimensions[0] % blockSize != 0)
        {
            throw new ArgumentException($"Tensor {name}: type {type} with shape [{string.Join(", ", dimensions)}] cannot be written.", nameof(type));
        }

        long size = dimensions[0] / blockSize * blockBytes * dimensions.Skip(1).Aggregate(1L, (a, b) => a * b);
        _tensors.Add(new Tensor(name, dimensions, type, size, writeData));
        return this;
    }

    /// <summary>Writes the file.</summary>
    public void Write(Stream output)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var writer = new BinaryWriter(output, Encoding.UTF8, leaveOpen: true);
        writer.Write(GgufFile.Magic);
        writer.Write(3u);
        writer.Write((ulong)_tensors.Count);
        writer.Write((ulong)_metadata.Count);
        foreach ((string key, Action<BinaryWriter> write) in _metadata)
        {
            WriteString(writer, key);
            write(writer);
        }

        long offset = 0;
        foreach (Tensor tensor in _tensors)
        {
            WriteString(writer, tensor.Name);
            writer.Write((uint)tensor.Dimensions.Length);
            foreach (long dimension in tensor.Dimensions)
            {
                writer.Write((ulong)dimension);
            }

            writer.Write((uint)tensor.Type);
            writer.Write((ulong)offset);
            offset = AlignUp(offset + tensor.Size);
        }

        writer.Flush();
        Pad(output);
        foreach (Tensor tensor in _tensors)
        {
            long start = output.Position;
            tensor.WriteData(output);
            if (output.Position - start != tensor.Size)
            {
                throw new InvalidOperationException($"Tensor {tensor.Name} must have {tensor.Size} bytes; {output.Position - start} were written.");
            }

            Pad(output);
        }
    }

    /// <summary>Writes the file to a path, replacing it only once it is complete.</summary>
    /// <remarks>Writers racing for one path each write their own partial file; the last complete one wins.</remarks>
    public void Write(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string partial = $"{path}.{Guid.NewGuid():N}.partial";
        try
        {
            using (var stream = new FileStream(partial, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 20))
            {
                Write(stream);
            }

            File.Move(partial, path, overwrite: true);
        }
        finally
        {
            // Gone after the move; a leftover only when writing failed (a full disk, say).
            File.Delete(partial);
        }
    }

    private GgufWriter AddValue(string key, Action<BinaryWriter> write)
    {
        ArgumentNullException.ThrowIfNull(key);
        _metadata.Add((key, write));
        return this;
    }

    private static void WriteString(BinaryWriter writer, string value)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(value);
        writer.Write((ulong)bytes.Length);
        writer.Write(bytes);
    }

    private static void Pad(Stream output)
    {
        long padding = AlignUp(output.Position) - output.Position;
        for (long i = 0; i < padding; i++)
        {
            output.WriteByte(0);
        }
    }

    private static long AlignUp(long value) => (value + Alignment - 1) / Alignment * Alignment;

    private sealed record Tensor(string Name, long[] Dimensions, int Type, long Size, Action<Stream> WriteData);
}
