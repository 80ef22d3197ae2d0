using System.Text.Json;

namespace Acp.GptOss.Models;

/// <summary>The config file cannot be read or is not what it should be; the message names the file.</summary>
internal sealed class ModelConfigException : Exception
{
    public ModelConfigException()
    {
    }

    public ModelConfigException(string message)
        : base(message)
    {
    }

    public ModelConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The models named in <c>config.json</c>: <c>{"model": "/path/gpt-oss.gguf", "fastModel": "/path/small.gguf"}</c>,
/// and a remote engine: <c>{"remote": {"endpoint": "http://gpu:8000/", "apiKeyFile": "~/.vllm-key", "model": "openai/gpt-oss-120b", "kind": "vllm"}}</c>
/// (docs/remote.md). Relative paths are relative to the config folder; <c>~/</c> is the home folder. Other keys are
/// left to whoever reads them.
/// </summary>
/// <param name="Model">The GPT-OSS model, as a full path, or null.</param>
/// <param name="FastModel">The fast model, as a full path, or null.</param>
internal sealed record ModelConfig(string? Model, string? FastModel)
{
    public static readonly ModelConfig Empty = new(null, null);

    /// <summary>The remote engine, when the file names one.</summary>
    public RemoteConfig? Remote { get; init; }

    // People write this file by hand: comments and a trailing comma are not worth an error.
    private static readonly JsonDocumentOptions s_options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Reads the config file of <paramref name="environment"/>; <see cref="Empty"/> when there is none.</summary>
    /// <exception cref="ModelConfigException">The file is unreadable, not JSON, or a model entry is not a path.</exception>
    public static ModelConfig Load(ModelEnvironment environment)
    {
        string file = environment.ConfigFile;
        byte[] bytes;
        try
        {
            if (!File.Exists(file))
            {
                return Empty;
            }

            bytes = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ModelConfigException($"The config file {file} cannot be read: {e.Message}", e);
        }

        try
        {
            using JsonDocument document = JsonDocument.Parse(bytes, s_options);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelConfigException($"The config file {file} must hold a JSON object, such as {{\"model\": \"/path/gpt-oss.gguf\"}}.");
            }

            return new ModelConfig(ReadPath(document.RootElement, "model"), ReadPath(document.RootElement, "fastModel"))
            {
                Remote = ReadRemote(document.RootElement),
            };
        }
        catch (JsonException e)
        {
            throw new ModelConfigException($"The config file {file} is not valid JSON: {e.Message}", e);
        }

        RemoteConfig? ReadRemote(JsonElement root)
        {
            if (!root.TryGetProperty("remote", out JsonElement remote) || remote.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (remote.ValueKind != JsonValueKind.Object)
            {
                throw new ModelConfigException($"The config file {file}: \"remote\" must be an object such as {{\"endpoint\": \"http://gpu-box:8080/\"}}.");
            }

            string? endpoint = ReadString(remote, "endpoint");
            if (endpoint is null)
            {
                throw new ModelConfigException($"The config file {file}: \"remote\" needs an \"endpoint\", the server's URL.");
            }

            string? keyFile = ReadString(remote, "apiKeyFile") is { } key ? Path.GetFullPath(environment.ExpandHome(key), environment.ConfigDirectory) : null;
            return new RemoteConfig(endpoint, keyFile, ReadString(remote, "model"), ReadString(remote, "kind"));
        }

        string? ReadString(JsonElement parent, string key)
        {
            if (!parent.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            return value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text
                ? text
                : throw new ModelConfigException($"The config file {file}: \"{key}\" must be a non-empty string, not {value.GetRawText()}.");
        }

        string? ReadPath(JsonElement root, string key)
        {
            if (!root.TryGetProperty(key, out JsonElement value) || value.ValueKind == JsonValueKind.Null)
            {
                return null;
            }

            if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } path)
            {
                throw new ModelConfigException($"The config file {file}: \"{key}\" must be the path of a GGUF file, not {value.GetRawText()}.");
            }

            return Path.GetFullPath(environment.ExpandHome(path), environment.ConfigDirectory);
        }
    }
}

/// <summary>The config file's <c>remote</c> object: what <c>--endpoint</c>, <c>--api-key-file</c>, <c>--remote-model</c> and <c>--remote-kind</c> say.</summary>
/// <param name="Endpoint">The server's URL, as written.</param>
/// <param name="ApiKeyFile">A file holding the API key, as a full path, or null.</param>
/// <param name="Model">The model to ask for, or null.</param>
/// <param name="Kind">The server's kind, as written, or null to detect it.</param>
internal sealed record RemoteConfig(string Endpoint, string? ApiKeyFile, string? Model, string? Kind);
