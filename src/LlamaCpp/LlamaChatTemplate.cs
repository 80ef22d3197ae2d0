using System.Buffers;
using System.Text;
using LLama.Native;

namespace LlamaCpp;

/// <summary>
/// Renders a conversation as a prompt with llama.cpp's <c>llama_chat_apply_template</c> (LLamaSharp's binding of it). That is no Jinja engine:
/// llama.cpp recognizes a template by its name (such as <c>chatml</c>, see <see cref="BuiltInNames"/>) or by marker
/// strings in a model's Jinja text, and writes the matching built-in format. Anything else is refused.
/// </summary>
/// <remarks>Thread-safe. Needs <see cref="LlamaBackend.Initialize"/> to have run, for the native library.</remarks>
public static unsafe class LlamaChatTemplate
{
    private static readonly Lock s_gate = new();
    private static string[]? s_builtInNames;

    /// <summary>The names llama.cpp accepts as a template, such as <c>chatml</c>, <c>llama3</c>, <c>gpt-oss</c>; sorted.</summary>
    /// <exception cref="InvalidOperationException">The backend is not initialized.</exception>
    public static IReadOnlyList<string> BuiltInNames
    {
        get
        {
            _ = LlamaBackend.Current;
            lock (s_gate)
            {
                return s_builtInNames ??= ReadBuiltInNames();
            }
        }
    }

    /// <summary>
    /// The prompt for <paramref name="messages"/> in the format <paramref name="template"/> names or contains, ending
    /// with the assistant's header when <paramref name="addAssistant"/> is set. Special tokens appear in their literal
    /// spellings: tokenize the result with special-token parsing.
    /// </summary>
    /// <param name="template">A built-in name, or a model's template text (<see cref="LlamaModel.ChatTemplate"/>).</param>
    /// <param name="messages">Roles (system, user, assistant) and contents, in order.</param>
    /// <param name="addAssistant">End with what opens the assistant's answer.</param>
    /// <exception cref="LlamaException">llama.cpp recognizes no built-in template in <paramref name="template"/>.</exception>
    /// <exception cref="ArgumentException">A string holds a NUL character, which C strings cannot carry.</exception>
    /// <exception cref="InvalidOperationException">The backend is not initialized.</exception>
    public static string Apply(string template, IReadOnlyList<(string Role, string Content)> messages, bool addAssistant)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(messages);
        _ = LlamaBackend.Current;

        // Every string NUL-terminated, one after another in one buffer: [template, role 0, content 0, role 1, ...].
        int stringBytes = Utf8Length(template, nameof(template));
        for (int i = 0; i < messages.Count; i++)
        {
            (string role, string content) = messages[i];
            ArgumentNullException.ThrowIfNull(role, nameof(messages));
            ArgumentNullException.ThrowIfNull(content, nameof(messages));
            stringBytes += Utf8Length(role, nameof(messages)) + Utf8Length(content, nameof(messages));
        }

        byte[] strings = ArrayPool<byte>.Shared.Rent(stringBytes);
        var chat = new LLamaChatMessage[Math.Max(1, messages.Count)];
        // llama.h recommends twice the characters of the messages; the result says how much it really needs.
        byte[] output = ArrayPool<byte>.Shared.Rent(Math.Max(256, 2 * stringBytes));
        try
        {
            fixed (byte* start = strings)
            fixed (LLamaChatMessage* messagesStart = chat)
            {
                int offset = 0;
                byte* templateText = start + WriteString(template, strings, ref offset);
                for (int i = 0; i < messages.Count; i++)
                {
                    chat[i].role = start + WriteString(messages[i].Role, strings, ref offset);
                    chat[i].content = start + WriteString(messages[i].Content, strings, ref offset);
                }

                int length = Format(templateText, messagesStart, messages.Count, addAssistant, output);
                if (length > output.Length)
                {
                    byte[] larger = ArrayPool<byte>.Shared.Rent(length);
                    ArrayPool<byte>.Shared.Return(output);
                    output = larger;
                    length = Format(templateText, messagesStart, messages.Count, addAssistant, output);
                }

                if (length < 0)
                {
                    throw new LlamaException(
                        $"llama.cpp does not recognize the chat template {Describe(template)}: only llama.cpp's built-in templates are supported "
                        + $"(llama_chat_apply_template is no Jinja engine). Use one of their names ({string.Join(", ", BuiltInNames)}) "
                        + "or a model whose template llama.cpp recognizes.");
                }

                if (length > output.Length)
                {
                    throw new LlamaException($"llama.cpp formatted the chat as {length} bytes after asking for {output.Length}.");
                }

                return Encoding.UTF8.GetString(output, 0, length);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(strings);
            ArrayPool<byte>.Shared.Return(output);
        }
    }

    private static int Format(byte* template, LLamaChatMessage* chat, int count, bool addAssistant, byte[] output)
    {
        fixed (byte* buffer = output)
        {
            return NativeApi.llama_chat_apply_template(template, chat, (nuint)count, addAssistant, buffer, output.Length);
        }
    }

    // The UTF-8 length with its terminator; a NUL inside would silently cut the string short in C.
    private static int Utf8Length(string text, string parameter) =>
        text.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException("Chat template strings cannot hold NUL characters: llama.cpp reads them as C strings.", parameter)
            : Encoding.UTF8.GetByteCount(text) + 1;

    // Writes text and its NUL at offset, moves offset past them, and returns where the text starts.
    private static int WriteString(string text, byte[] buffer, ref int offset)
    {
        int start = offset;
        int written = Encoding.UTF8.GetBytes(text, buffer.AsSpan(start));
        buffer[start + written] = 0;
        offset = start + written + 1;
        return start;
    }

    // Names are quoted whole; Jinja text is long, so its start and size say which one it was.
    private static string Describe(string template)
    {
        const int Shown = 60;
        string oneLine = template.ReplaceLineEndings(" ");
        return oneLine.Length <= Shown
            ? $"\"{oneLine}\""
            : $"\"{oneLine[..Shown]}...\" ({template.Length} characters)";
    }

    private static string[] ReadBuiltInNames()
    {
        int count = NativeApi.llama_chat_builtin_templates(null, 0);
        if (count <= 0)
        {
            return [];
        }

        var names = new byte*[count];
        fixed (byte** output = names)
        {
            // LLamaSharp declares the output as char**; it is an array of C strings.
            count = Math.Min(count, NativeApi.llama_chat_builtin_templates((char**)output, (nuint)names.Length));
        }

        var result = new string[count];
        for (int i = 0; i < count; i++)
        {
            result[i] = names[i] is null ? "" : LlamaBackend.Utf8(names[i]);
        }

        return result;
    }
}
