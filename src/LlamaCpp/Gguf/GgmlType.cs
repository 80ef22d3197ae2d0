namespace LlamaCpp.Gguf;

/// <summary>
/// The tensor types of ggml, with their block sizes: elements per block and bytes per block. Read off the
/// runtime's own ggml_blck_size and ggml_type_size; ids with no entry are removed or unused types.
/// </summary>
public static class GgmlType
{
    /// <summary>32-bit float.</summary>
    public const int F32 = 0;

    /// <summary>16-bit float.</summary>
    public const int F16 = 1;

    /// <summary>8-bit blocks of 32 with an F16 scale.</summary>
    public const int Q80 = 8;

    /// <summary>bfloat16.</summary>
    public const int BF16 = 30;

    /// <summary>GPT-OSS's 4-bit experts.</summary>
    public const int MXFP4 = 39;

    private static readonly Dictionary<int, (string Name, int BlockSize, int BlockBytes)> s_types = new()
    {
        [0] = ("f32", 1, 4), [1] = ("f16", 1, 2), [2] = ("q4_0", 32, 18), [3] = ("q4_1", 32, 20), [6] = ("q5_0", 32, 22),
        [7] = ("q5_1", 32, 24), [8] = ("q8_0", 32, 34), [9] = ("q8_1", 32, 36), [10] = ("q2_K", 256, 84), [11] = ("q3_K", 256, 110),
        [12] = ("q4_K", 256, 144), [13] = ("q5_K", 256, 176), [14] = ("q6_K", 256, 210), [15] = ("q8_K", 256, 292),
        [16] = ("iq2_xxs", 256, 66), [17] = ("iq2_xs", 256, 74), [18] = ("iq3_xxs", 256, 98), [19] = ("iq1_s", 256, 50),
        [20] = ("iq4_nl", 32, 18), [21] = ("iq3_s", 256, 110), [22] = ("iq2_s", 256, 82), [23] = ("iq4_xs", 256, 136),
        [24] = ("i8", 1, 1), [25] = ("i16", 1, 2), [26] = ("i32", 1, 4), [27] = ("i64", 1, 8), [28] = ("f64", 1, 8),
        [29] = ("iq1_m", 256, 56), [30] = ("bf16", 1, 2), [34] = ("tq1_0", 256, 54), [35] = ("tq2_0", 256, 66),
        [39] = ("mxfp4", 32, 17), [40] = ("nvfp4", 64, 36), [41] = ("q1_0", 128, 18), [42] = ("q2_0", 64, 18),
    };

    /// <summary>The type's name, block size (elements) and block size (bytes), if it is a type this runtime knows.</summary>
    public static bool TryGet(int type, out string name, out int blockSize, out int blockBytes)
    {
        bool known = s_types.TryGetValue(type, out (string Name, int BlockSize, int BlockBytes) info);
        (name, blockSize, blockBytes) = known ? info : ("?", 0, 0);
        return known;
    }
}
