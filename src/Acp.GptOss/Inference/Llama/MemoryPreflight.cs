using System.Globalization;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// Checks, before anything is allocated, that the weights and the KV cache of the requested context fit in the
/// memory available: a model that does not fit is a clear error, and a context that does not fit shrinks with a
/// warning, instead of the machine swapping or the process being killed.
/// </summary>
internal static class MemoryPreflight
{
    private const int MinimumContext = 1024;
    private const int ContextStep = 256;

    /// <summary>The context size that fits.</summary>
    /// <param name="file">The model, as the GGUF preflight read it.</param>
    /// <param name="requested">The context size asked for.</param>
    /// <param name="availableBytes">Memory available to this process (MemAvailable).</param>
    /// <param name="warning">Set when the context had to shrink.</param>
    /// <exception cref="InferenceException">Not even the smallest context fits.</exception>
    public static int FitContext(GgufFile file, int requested, long availableBytes, out string? warning)
    {
        warning = null;
        long perToken = KvBytesPerToken(file);
        long weights = file.Length;
        long budget = (long)(availableBytes * 0.9) - weights;
        long fits = perToken > 0 ? budget / perToken : long.MaxValue;
        if (fits >= requested)
        {
            return requested;
        }

        if (fits < MinimumContext)
        {
            throw new InferenceException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(file.Path)} needs {Gigabytes(weights + (perToken * MinimumContext))} GB of memory with a {MinimumContext}-token context, and {Gigabytes(availableBytes)} GB are available."));
        }

        int context = (int)(fits / ContextStep * ContextStep);
        warning = string.Create(CultureInfo.InvariantCulture,
            $"A {requested}-token context does not fit in the {Gigabytes(availableBytes)} GB available with {Gigabytes(weights)} GB of weights; using {context} tokens.");
        return context;
    }

    /// <summary>
    /// How many sequences of <paramref name="contextSize"/> tokens to decode together: as many as asked for, fewer when
    /// their KV caches would take more than 80 % of the memory available now (the weights are loaded by then), and
    /// at least one. The rest wait their turn.
    /// </summary>
    public static int FitSequences(int requested, int contextSize, long kvBytesPerToken, long? availableBytes)
    {
        if (availableBytes is not { } available || kvBytesPerToken <= 0)
        {
            return Math.Max(1, requested);
        }

        long fits = (long)(available * 0.8) / (kvBytesPerToken * Math.Max(1, contextSize));
        return (int)Math.Clamp(fits, 1, Math.Max(1, requested));
    }

    /// <summary>KV cache bytes per token of context: K and V, f16, every layer at full size.</summary>
    public static long KvBytesPerToken(GgufFile file)
    {
        string a = file.Architecture ?? "";
        long layers = file.GetInteger($"{a}.block_count") ?? 0;
        long heads = file.GetInteger($"{a}.attention.head_count") ?? 1;
        long kvHeads = file.GetInteger($"{a}.attention.head_count_kv") ?? heads;
        long embedding = file.GetInteger($"{a}.embedding_length") ?? 0;
        long keyLength = file.GetInteger($"{a}.attention.key_length") ?? (embedding / Math.Max(1, heads));
        long valueLength = file.GetInteger($"{a}.attention.value_length") ?? keyLength;
        return layers * kvHeads * (keyLength + valueLength) * 2;
    }

    /// <summary>
    /// MemAvailable from /proc/meminfo, or less where a cgroup (a container) limits this process; null where
    /// neither says.
    /// </summary>
    public static long? AvailableMemory()
    {
        long? available = ReadMemInfo("MemAvailable:");
        if (ReadCgroupBytes("memory.max") is { } limit && ReadCgroupBytes("memory.current") is { } used)
        {
            long left = Math.Max(0, limit - used);
            available = available is { } a ? Math.Min(a, left) : left;
        }

        return available;
    }

    /// <summary>MemTotal from /proc/meminfo, or null where there is none.</summary>
    public static long? TotalMemory() => ReadMemInfo("MemTotal:");

    private static long? ReadMemInfo(string key)
    {
        try
        {
            string? line = File.ReadLines("/proc/meminfo").FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal));
            return line is not null && long.TryParse(line[key.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture, out long kb) ? kb * 1024 : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    // cgroup v2 files hold a number of bytes, or "max" for no limit.
    private static long? ReadCgroupBytes(string name)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine("/sys/fs/cgroup", name)).Trim();
            return long.TryParse(text, CultureInfo.InvariantCulture, out long bytes) ? bytes : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Gigabytes(long bytes) => (bytes / 1e9).ToString("0.0", CultureInfo.InvariantCulture);
}
