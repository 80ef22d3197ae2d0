namespace Acp.GptOss.Models;

/// <summary>Where a model was found, as <c>models list</c> and the agent's log name it.</summary>
internal static class ModelSources
{
    public const string ModelOption = "--model";
    public const string FastModelOption = "--fast-model";
    public const string EnvironmentVariable = "GPT_OSS_GGUF_PATH";
    public const string Config = "config";
    public const string HuggingFace = "huggingface";
    public const string LmStudio = "lmstudio";
    public const string LlamaCpp = "llama.cpp";
    public const string AcpGptOss = "acp-gptoss";
    public const string HomeModels = "~/models";
}

/// <summary>Whether a model found on disk can be loaded (not whether it is: that is Inference.ModelState).</summary>
internal enum DiskState
{
    /// <summary>A whole GGUF (or a whole split set) that passes the preflight.</summary>
    Usable,

    /// <summary>A partial download, or a split set with parts missing.</summary>
    Incomplete,

    /// <summary>Missing, unreadable, or failing the GGUF preflight.</summary>
    Error,
}

/// <summary>A model on disk: one GGUF, a split set (named by its first part), or a partial download.</summary>
/// <param name="Path">The file; for a split set, its first part, the file llama.cpp opens.</param>
/// <param name="Source">Where it was found (<see cref="ModelSources"/>).</param>
/// <param name="State">Whether it can be loaded.</param>
/// <param name="Bytes">Its size on disk; for a split set, the parts present together.</param>
internal sealed record FoundModel(string Path, string Source, DiskState State, long Bytes)
{
    /// <summary>Its general.architecture, such as gpt-oss; null when the preflight could not read it.</summary>
    public string? Architecture { get; init; }

    /// <summary>Why it is incomplete or unusable; null when it is usable.</summary>
    public string? Problem { get; init; }

    /// <summary>The Hugging Face repository (ORG/REPO) it came from, where the folder says so.</summary>
    public string? Repository { get; init; }

    /// <summary>How many files make it up: 1, or the size of a split set.</summary>
    public int Parts { get; init; } = 1;

    /// <summary>A GPT-OSS model that can be loaded.</summary>
    public bool IsGptOss => State == DiskState.Usable && Architecture == "gpt-oss";
}
