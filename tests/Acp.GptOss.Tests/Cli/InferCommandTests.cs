using System.Text;
using Acp.GptOss.Cli;
using Acp.GptOss.Hosting;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Cli;

/// <summary><c>acp-gptoss infer</c> in-process, on the scripted engine, and once on a chain GGUF through llama.cpp.</summary>
public sealed class InferCommandTests : IDisposable
{
    private const string Answer = "<|channel|>analysis<|message|>The user greets me.<|end|><|start|>assistant<|channel|>final<|message|>Hello, world.<|return|>";

    private readonly string _directory = Directory.CreateTempSubdirectory("infer-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task The_answer_goes_to_stdout_and_the_reasoning_nowhere()
    {
        // Nothing but what a person should read reaches stderr, without --log-level too.
        CliResult result = await CliRunner.RunAsync("infer", "Say hello.", "--engine", "script", "--script", Script(Answer));

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("Hello, world.\n", result.Text);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Show_reasoning_writes_it_to_stderr_and_never_to_stdout()
    {
        CliResult result = await CliRunner.RunAsync(
            "infer", "Say hello.", "--show-reasoning", "--engine", "script", "--script", Script(Answer), "--log-level", "Warning");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("Hello, world.\n", result.Text);
        Assert.Equal("The user greets me.\n", result.Error);
    }

    [Fact]
    public async Task A_dash_reads_the_prompt_from_stdin_and_the_options_reach_the_rendered_prompt()
    {
        string log = Path.Combine(_directory, "prompts.txt");

        CliResult result = await CliRunner.RunAsync(
            Encoding.UTF8.GetBytes("What is in the pipe?\n"),
            "infer", "-", "--engine", "script", "--script", Script(Answer), "--prompt-log", log,
            "--reasoning-effort", "high", "--instructions", "Answer in French.", "--log-level", "Warning");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        string prompt = await File.ReadAllTextAsync(log);
        Assert.Contains("<|start|>user<|message|>What is in the pipe?\n<|end|><|start|>assistant", prompt, StringComparison.Ordinal);
        Assert.Contains("Reasoning: high", prompt, StringComparison.Ordinal);
        Assert.Contains("<|start|>developer<|message|># Instructions\n\nAnswer in French.", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cut_off_answer_still_exits_0_and_says_why_on_stderr()
    {
        CliResult result = await CliRunner.RunAsync(
            "infer", "Go.", "--engine", "script", "--script", Script("<|channel|>final<|message|>Hello, world.<|return|>"), "--max-tokens", "12",
            "--log-level", "Warning");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("Hello\n", result.Text);
        Assert.Contains("cut off after 12 tokens", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "the prompt is empty")]
    [InlineData("--reasoning-effort=extreme", "--reasoning-effort takes low, medium or high")]
    [InlineData("--max-tokens=0", "--max-tokens must be at least 1")]
    public async Task Bad_input_is_a_usage_error_that_says_what_is_wrong(string option, string message)
    {
        string[] args = ["infer", option.Length == 0 ? " " : "Hi.", "--engine", "script", "--script", Script(Answer)];
        if (option.Length > 0)
        {
            args = [.. args, option];
        }

        CliResult result = await CliRunner.RunAsync(args);

        Assert.Equal(ExitCodes.UsageError, result.ExitCode);
        Assert.Contains(message, result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task Without_a_model_it_says_how_to_give_one_and_exits_with_the_model_error()
    {
        CliResult result = await CliRunner.RunAsync("infer", "Hi.", "--engine", "none");

        Assert.Equal(ExitCodes.ModelError, result.ExitCode);
        Assert.Contains("No model is configured", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task A_damaged_model_file_is_a_clear_error_with_the_model_error_exit_code()
    {
        string model = Path.Combine(_directory, "broken.gguf");
        await File.WriteAllTextAsync(model, "this is not a GGUF file at all");

        CliResult result = await CliRunner.RunAsync("infer", "Hi.", "--model", model, "--log-level", "Critical");

        Assert.Equal(ExitCodes.ModelError, result.ExitCode);
        Assert.Contains("broken.gguf", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task A_missing_model_file_is_a_clear_error_with_the_model_error_exit_code()
    {
        string model = Path.Combine(_directory, "absent.gguf");

        CliResult result = await CliRunner.RunAsync("infer", "Hi.", "--model", model, "--log-level", "Critical");

        Assert.Equal(ExitCodes.ModelError, result.ExitCode);
        Assert.Contains("absent.gguf does not exist", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task Ctrl_c_cancels_the_completion_at_once_with_exit_code_130()
    {
        // A slow scripted model: the first chunk on stdout is the moment to press Ctrl-C.
        string script = Script("<|channel|>final<|message|>" + new string('x', 10_000) + "<|return|>");
        using var interrupt = new CancellationTokenSource();
        var output = new FirstWriteStream();
        using var error = new StringWriter();

        Task<int> run = AcpGptOssCommand.RunAsync(
            ["infer", "Go.", "--engine", "script", "--script", script, "--token-delay-ms", "20", "--log-level", "Warning"],
            new StdioStreams(new MemoryStream(), output, error), interrupt.Token);
        await output.FirstWrite.WaitAsync(AgentHarness.Timeout);
        await interrupt.CancelAsync();
        int exitCode = await run.WaitAsync(AgentHarness.Timeout);

        Assert.Equal(ExitCodes.Interrupted, exitCode);
        string shown = Encoding.UTF8.GetString(output.ToArray());
        Assert.StartsWith("x", shown, StringComparison.Ordinal);
        Assert.True(shown.Length < 10_000, $"{shown.Length} characters were written after the cancel.");
    }

    [ModelFact]
    public async Task A_chain_model_answers_through_llama_cpp_and_only_the_final_text_reaches_stdout()
    {
        // A chain model says each token once: one message, so the answer alone.
        string model = TestModels.Chain("<|channel|>final<|message|>Hello from the chain.<|return|>");

        CliResult result = await CliRunner.RunAsync("infer", "Say hello.", "--model", model, "--temperature", "0", "--threads", "2", "--log-level", "Warning");

        Assert.Equal(ExitCodes.Success, result.ExitCode);
        Assert.Equal("Hello from the chain.\n", result.Text);
        Assert.DoesNotContain("<|", result.Text, StringComparison.Ordinal);
    }

    private string Script(string completion)
    {
        string path = Path.Combine(_directory, $"script-{Guid.NewGuid():N}.txt");
        File.WriteAllText(path, completion);
        return path;
    }

    /// <summary>stdout that says when the first bytes arrive.</summary>
    private sealed class FirstWriteStream : MemoryStream
    {
        private readonly TaskCompletionSource _first = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task FirstWrite => _first.Task;

        public override void Write(byte[] buffer, int offset, int count)
        {
            base.Write(buffer, offset, count);
            _first.TrySetResult();
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            base.Write(buffer.Span);
            _first.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
