using System.Buffers;
using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Remote;
using Acp.GptOss.Models;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary>What <c>models</c> reads from the machine; tests give their own.</summary>
/// <param name="Environment">Environment variables, home and config folder.</param>
/// <param name="Download">Retries, stall detection, clock, free space.</param>
/// <param name="ErrorIsTerminal">Whether stderr is a terminal (a progress bar) or not (plain lines).</param>
internal sealed record ModelsCommandSetup(ModelEnvironment Environment, DownloadOptions Download, bool ErrorIsTerminal)
{
    public static ModelsCommandSetup FromProcess() => new(ModelEnvironment.FromProcess(), new DownloadOptions(), StandardErrorIsTerminal());

    // Console is the stdio transport's alone; /proc says where fd 2 leads without it.
    private static bool StandardErrorIsTerminal()
    {
        if (!OperatingSystem.IsLinux() || System.Environment.GetEnvironmentVariable("TERM") is null or "dumb")
        {
            return false;
        }

        try
        {
            return new FileInfo("/proc/self/fd/2").LinkTarget is { } target
                && (target.StartsWith("/dev/pts/", StringComparison.Ordinal) || target.StartsWith("/dev/tty", StringComparison.Ordinal));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}

/// <summary><c>acp-gptoss models list|pull</c>: the GGUFs on this machine, and downloads into the Hugging Face cache.</summary>
internal static class ModelsCommand
{
    /// <summary>The exit code of a pull stopped by Ctrl-C, as a shell reports SIGINT.</summary>
    public const int Interrupted = 130;

    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers) => Create(streams, loggers, ModelsCommandSetup.FromProcess);

    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers, Func<ModelsCommandSetup> setup)
    {
        var listJson = new Option<bool>("--json") { Description = "One JSON object per model and line instead of a table." };
        var model = new Option<string?>("--model") { Description = "The GPT-OSS model the agent would be given, to list as it would resolve." };
        var fastModel = new Option<string?>("--fast-model") { Description = "The fast model the agent would be given." };
        var endpoint = new Option<string?>("--endpoint") { Description = "A remote server to check and list beside the files (else the config file's \"remote\" entry, if any)." };
        var list = new Command("list", "List the GGUF models found: role, size, state, path and where each was found; and the remote server, if one is configured, with its health.");
        list.Options.Add(listJson);
        list.Options.Add(endpoint);
        list.Options.Add(model);
        list.Options.Add(fastModel);
        list.SetAction((result, token) =>
            ListAsync(result.GetValue(model), result.GetValue(fastModel), result.GetValue(endpoint), result.GetValue(listJson), setup(), streams, loggers, token));

        var what = new Argument<string>("MODEL") { Description = "gpt-oss-20b, gpt-oss-120b, or ORG/REPO/FILE (every part of a split model is pulled)." };
        var revision = new Option<string>("--revision") { Description = "A branch, tag or commit of the repository.", DefaultValueFactory = _ => "main" };
        var pullJson = new Option<bool>("--json") { Description = "Write the download's events as JSON lines on stdout (schemas/model-download-event.schema.json)." };
        var pull = new Command("pull", "Download a model into the Hugging Face cache, resuming what an earlier run left, and verify its sha256.");
        pull.Arguments.Add(what);
        pull.Options.Add(revision);
        pull.Options.Add(pullJson);
        pull.SetAction((result, token) =>
            PullAsync(result.GetValue(what)!, result.GetValue(revision)!, result.GetValue(pullJson), setup(), streams, loggers, token));

        var models = new Command("models", "The GGUF models on this machine, and downloads from Hugging Face.");
        models.Subcommands.Add(list);
        models.Subcommands.Add(pull);
        return models;
    }

    private static async Task<int> ListAsync(
        string? modelOption, string? fastOption, string? endpointOption, bool json, ModelsCommandSetup setup, StdioStreams streams, Func<ILoggerFactory> loggers,
        CancellationToken cancellationToken)
    {
        ModelEnvironment environment = setup.Environment;
        string? configError = null;
        ModelConfig config;
        try
        {
            config = ModelConfig.Load(environment);
        }
        catch (ModelConfigException e)
        {
            configError = e.Message;
            config = ModelConfig.Empty;
        }

        ModelLocation location = ModelLocator.Resolve(modelOption, fastOption, environment, config);
        var discovery = new ModelDiscovery(environment);
        List<FoundModel> found = discovery.FindAll(discovery.Named(modelOption, fastOption, config));
        string? gptOss = location.GptOss is { } g ? FileFacts.Canonical(ModelDiscovery.Named(g, "").Path) : null;
        string? fast = location.Fast is { } f ? FileFacts.Canonical(ModelDiscovery.Named(f, "").Path) : null;

        var output = new ArrayBufferWriter<byte>();
        foreach (FoundModel model in found)
        {
            string canonical = FileFacts.Canonical(model.Path);
            string role = canonical == gptOss ? ModelRole.GptOss.WireName() : canonical == fast ? ModelRole.Fast.WireName() : model.Architecture == "gpt-oss" ? "gpt-oss-capable" : "other";
            if (json)
            {
                WriteJson(output, model, role);
            }
            else
            {
                Encoding.UTF8.GetBytes(Line(model, role) + "\n", output);
            }
        }

        if ((endpointOption ?? config.Remote?.Endpoint) is { } remoteEndpoint)
        {
            ModelStatus remote = await CheckRemoteAsync(remoteEndpoint, endpointOption is null ? config.Remote : null, loggers, cancellationToken).ConfigureAwait(false);
            if (json)
            {
                WriteRemoteJson(output, remote);
            }
            else
            {
                Encoding.UTF8.GetBytes(RemoteLine(remote) + "\n", output);
            }
        }

        await streams.Output.WriteAsync(output.WrittenMemory, cancellationToken).ConfigureAwait(false);
        await streams.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        if (found.Count == 0 && endpointOption is null && config.Remote is null)
        {
            await streams.Error.WriteLineAsync(
                $"No GGUF model found. Searched {string.Join(", ", discovery.Roots.Select(r => r.Folder))}. `acp-gptoss models pull gpt-oss-20b` downloads GPT-OSS 20B (12.1 GB).")
                .ConfigureAwait(false);
        }
        else if (location.GptOss is null)
        {
            await streams.Error.WriteLineAsync("No GPT-OSS model found: `acp-gptoss models pull gpt-oss-20b` downloads one.").ConfigureAwait(false);
        }

        if (configError is not null)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss models list: {configError}").ConfigureAwait(false);
            return ExitCodes.InputError;
        }

        return ExitCodes.Success;
    }

    // The server, probed as the agent would (kind detected unless the config says): its state is its health.
    private static async Task<ModelStatus> CheckRemoteAsync(string endpoint, RemoteConfig? config, Func<ILoggerFactory> loggers, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out Uri? uri) || uri.Scheme is not ("http" or "https"))
        {
            return new ModelStatus(ModelRole.GptOss, ModelState.Error, endpoint) { Error = "not an http:// or https:// URL" };
        }

        string? key = null;
        if (config?.ApiKeyFile is { } keyFile)
        {
            try
            {
                key = File.ReadAllText(keyFile).Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return new ModelStatus(ModelRole.GptOss, ModelState.Error, uri.AbsoluteUri) { Error = $"The API key file {keyFile} cannot be read: {e.Message}" };
            }
        }

        var options = new RemoteEngineOptions
        {
            Endpoint = uri,
            ApiKey = key,
            Model = config?.Model,
            Kind = RemoteInferenceEngine.Dialects.FirstOrDefault(d => RemoteModel.WireName(d.Kind) == config?.Kind)?.Kind,
            StallTimeout = TimeSpan.FromSeconds(10),
            ConnectTimeout = TimeSpan.FromSeconds(5),
        };
        await using RemoteInferenceEngine engine = RemoteInferenceEngine.Start(options, new Telemetry(loggers().CreateLogger("Acp.GptOss.Telemetry")), loggers());
        IModel model = engine.Models[0];
        try
        {
            await model.LoadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException)
        {
            // The status says why.
        }

        return model.GetStatus();
    }

    private static string RemoteLine(ModelStatus remote)
    {
        string state = remote.State == ModelState.Error ? $"error: {remote.Error}" : remote.State.ToString().ToLowerInvariant();
        string what = remote.Remote is { Kind: { } kind } r ? $"  {kind}, {r.Model}{(r.Version is { } v ? $", {v}" : "")}, context {remote.ContextSize?.ToString(CultureInfo.InvariantCulture) ?? "?"}" : "";
        return $"{ModelRole.GptOss.WireName(),-15}  {"remote",8}  {state,-10}  {remote.Path}  remote{what}";
    }

    private static void WriteRemoteJson(IBufferWriter<byte> output, ModelStatus remote)
    {
        using (var writer = new Utf8JsonWriter(output, s_json))
        {
            writer.WriteStartObject();
            writer.WriteString("role", ModelRole.GptOss.WireName());
            writer.WriteString("state", remote.State == ModelState.Ready ? "ready" : "error");
            writer.WriteString("detail", remote.Error);
            writer.WriteString("path", remote.Path);
            writer.WriteString("source", "remote");
            writer.WriteString("kind", remote.Remote?.Kind);
            writer.WriteString("model", remote.Remote?.Model);
            writer.WriteString("version", remote.Remote?.Version);
            if (remote.ContextSize is { } context)
            {
                writer.WriteNumber("contextSize", context);
            }

            writer.WriteEndObject();
        }

        output.Write("\n"u8);
    }

    private static string Line(FoundModel model, string role)
    {
        string state = model.State switch
        {
            DiskState.Usable => "notLoaded",
            DiskState.Incomplete => "incomplete",
            _ => $"error: {Why(model)}",
        };
        string detail = model.State == DiskState.Incomplete ? $"  ({model.Problem})" : "";
        return string.Create(CultureInfo.InvariantCulture, $"{role,-15}  {ByteSize.Format(model.Bytes),8}  {state,-10}  {model.Path}  {model.Source}{detail}");
    }

    // The path is on the line already; the preflight's messages start with it.
    private static string? Why(FoundModel model) => model.Problem?.Replace(model.Path, Path.GetFileName(model.Path), StringComparison.Ordinal);

    private static void WriteJson(IBufferWriter<byte> output, FoundModel model, string role)
    {
        using (var writer = new Utf8JsonWriter(output, s_json))
        {
            writer.WriteStartObject();
            writer.WriteString("role", role);
            writer.WriteString("state", model.State switch { DiskState.Usable => "notLoaded", DiskState.Incomplete => "incomplete", _ => "error" });
            writer.WriteString("detail", model.State == DiskState.Error ? Why(model) : model.Problem);
            writer.WriteNumber("bytes", model.Bytes);
            writer.WriteString("size", ByteSize.Format(model.Bytes));
            writer.WriteString("path", model.Path);
            writer.WriteString("source", model.Source);
            writer.WriteString("architecture", model.Architecture);
            writer.WriteString("repository", model.Repository);
            writer.WriteNumber("parts", model.Parts);
            writer.WriteEndObject();
        }

        output.Write("\n"u8);
    }

    private static async Task<int> PullAsync(
        string spec, string revision, bool json, ModelsCommandSetup setup, StdioStreams streams, Func<ILoggerFactory> loggers, CancellationToken cancellationToken)
    {
        if (HubFile.Parse(spec, revision, out string? error) is not { } files)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss models pull: {error}").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        ILogger logger = loggers().CreateLogger("Acp.GptOss.Models");
        using HttpClient http = HubClient.CreateHttpClient();
        var downloader = new ModelDownloader(http, setup.Environment, setup.Download, logger);
        using var reporter = new DownloadReporter(logger, streams.Error, setup.ErrorIsTerminal, json ? streams.Output : null, setup.Download.Time);
        try
        {
            IReadOnlyList<DownloadedFile> done = await downloader.DownloadAsync(files, reporter.Report, cancellationToken).ConfigureAwait(false);
            if (!json)
            {
                // The result is the path to give --model: a split model's first part.
                await streams.Output.WriteAsync(Encoding.UTF8.GetBytes(done[0].Path + "\n"), cancellationToken).ConfigureAwait(false);
                await streams.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            return ExitCodes.Success;
        }
        catch (ModelDownloadException)
        {
            // The failed event has said why, on stderr and in the JSON lines.
            return ExitCodes.InputError;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Interrupted;
        }
    }
}
